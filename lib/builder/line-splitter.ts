// Splits a container's output into log lines the way a terminal shows them.
import { StringDecoder } from "node:string_decoder";

/**
 * What a terminal leaves on screen of one line: a carriage return moves back to the start, so
 * progress that redraws itself ("(Reading database ... 5%\r… 10%\r…") shows only its last state.
 */
export function terminalLine(raw: string): string {
  const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  if (!line.includes("\r")) return line;
  const segments = line.split("\r").filter((s) => s.length > 0);
  return segments[segments.length - 1] ?? "";
}

/**
 * Splits a byte stream into lines; a line longer than `maxLine` is handed on in pieces of `maxLine` as it arrives, so a
 * line without end (a megabyte of dots, a binary printed by mistake) never holds more than that in memory, and
 * redrawn progress (carriage returns) collapses into the one line a terminal would show.
 */
export class LineSplitter {
  private pending = "";
  // A multi-byte character can be cut between two chunks.
  private readonly decoder = new StringDecoder("utf8");
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 16 * 1024,
  ) {}
  push(chunk: Buffer) {
    const text = this.pending + this.decoder.write(chunk);
    let start = 0;
    // Scanning from an offset, not re-slicing the rest after each line: a chunk of 30,000 "y" lines stays linear.
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      this.onLine(terminalLine(text.slice(start, nl)));
      start = nl + 1;
    }
    let rest = start === 0 ? text : text.slice(start);
    // Drop what a later carriage return overwrites, so a long redraw never counts towards the cut
    // (a final "\r" may be the first half of "\r\n" and stays).
    const cr = rest.lastIndexOf("\r", rest.length - 2);
    if (cr >= 0) rest = rest.slice(cr + 1);
    while (rest.length > this.maxLine) {
      this.onLine(rest.slice(0, this.maxLine));
      rest = rest.slice(this.maxLine);
    }
    // A copy, not a slice of `text`: a slice would keep the whole chunk's string alive.
    this.pending = rest.length > 0 && rest.length < text.length ? Buffer.from(rest).toString() : rest;
  }
  flush() {
    this.pending += this.decoder.end();
    const last = terminalLine(this.pending);
    if (last) this.onLine(last);
    this.pending = "";
  }
}
