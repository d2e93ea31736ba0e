// Splits a container's output into log lines the way a terminal shows them.
import { StringDecoder } from "node:string_decoder";

/** Splits a byte stream into lines; very long lines are cut so one line cannot hold unbounded memory. */
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
      this.onLine(this.pending.slice(0, nl).replace(/\r$/, ""));
      this.pending = this.pending.slice(nl + 1);
    }
    while (this.pending.length > this.maxLine) {
      this.onLine(this.pending.slice(0, this.maxLine));
      this.pending = this.pending.slice(this.maxLine);
    }
  }
  flush() {
    this.pending += this.decoder.end();
    if (this.pending) this.onLine(this.pending.replace(/\r$/, ""));
    this.pending = "";
  }
}

