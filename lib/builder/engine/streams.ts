// Reads Docker's JSON-lines progress streams (pull, push, import, build), which report failures inside a 200 response.
import { StringDecoder } from "node:string_decoder";

export interface ProgressMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  /** Build output. */
  stream?: string;
  error?: string;
  errorDetail?: { code?: number; message?: string };
  /** Push: { Tag, Digest, Size }; build: { ID }. */
  aux?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A failure the engine reported inside the progress stream. */
export class EngineStreamError extends Error {
  readonly detail: ProgressMessage;
  constructor(message: string, detail: ProgressMessage) {
    super(message);
    this.name = "EngineStreamError";
    this.detail = detail;
  }
}

/**
 * Splits the stream into JSON messages. Docker separates them with "\n" or "\r\n", but a message may
 * be cut across chunks, and some engines glue messages together without a separator; the scanner
 * below therefore splits on balanced top-level braces instead of on newlines.
 */
export async function followProgress(
  stream: NodeJS.ReadableStream,
  onMessage?: (message: ProgressMessage) => void,
): Promise<ProgressMessage[]> {
  const messages: ProgressMessage[] = [];
  let pending = "";
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  let scanned = 0;
  // A multi-byte character can be cut between two chunks.
  const decoder = new StringDecoder("utf8");

  const emit = (text: string) => {
    let message: ProgressMessage;
    try {
      message = JSON.parse(text) as ProgressMessage;
    } catch {
      throw new Error(`Docker sent a progress message that is not JSON: ${text.slice(0, 200)}`);
    }
    messages.push(message);
    onMessage?.(message);
    if (message.error || message.errorDetail) {
      const reason = message.errorDetail?.message ?? message.error ?? "unknown error";
      throw new EngineStreamError(reason, message);
    }
  };

  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    pending += typeof chunk === "string" ? chunk : decoder.write(chunk);
    for (let i = scanned; i < pending.length; i++) {
      const c = pending[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === "\\") escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === "{") {
        if (depth === 0) start = i;
        depth++;
      } else if (c === "}") {
        depth--;
        if (depth === 0) emit(pending.slice(start, i + 1));
      }
    }
    // Keep only the unfinished message (if any) for the next chunk.
    if (depth > 0) {
      pending = pending.slice(start);
      start = 0;
    } else {
      pending = "";
    }
    scanned = pending.length;
  }
  if (depth !== 0) throw new Error("Docker's progress stream ended in the middle of a message");
  return messages;
}
