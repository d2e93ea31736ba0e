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
 * Splits a byte stream into lines; very long lines are cut so one line cannot hold unbounded memory,
 * and redrawn progress (carriage returns) collapses into the one line a terminal would show.
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
    this.pending += this.decoder.write(chunk);
    let nl: number;
    while ((nl = this.pending.indexOf("\n")) >= 0) {
      this.onLine(terminalLine(this.pending.slice(0, nl)));
      this.pending = this.pending.slice(nl + 1);
    }
    // Drop what a later carriage return overwrites, so a long redraw never counts towards the cut
    // (a final "\r" may be the first half of "\r\n" and stays).
    const cr = this.pending.lastIndexOf("\r", this.pending.length - 2);
    if (cr >= 0) this.pending = this.pending.slice(cr + 1);
    while (this.pending.length > this.maxLine) {
      this.onLine(this.pending.slice(0, this.maxLine));
      this.pending = this.pending.slice(this.maxLine);
    }
  }
  flush() {
    this.pending += this.decoder.end();
    const last = terminalLine(this.pending);
    if (last) this.onLine(last);
    this.pending = "";
  }
}
