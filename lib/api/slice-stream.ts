// One byte range of a stream that begins at byte 0, for Range requests served from a source that cannot seek.
import type { Readable } from "node:stream";

/** Bytes [start, end] of `source`; stops reading it (and so the transfer) once the range is out. */
export async function* sliceStream(source: Readable, start: number, end: number): AsyncGenerator<Buffer> {
  let offset = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    const from = Math.max(0, start - offset);
    const to = Math.min(chunk.length, end + 1 - offset);
    offset += chunk.length;
    if (to > from) yield chunk.subarray(from, to);
    if (offset > end) return;
  }
}
