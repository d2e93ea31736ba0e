import { describe, expect, it } from "vitest";
import { LineSplitter, terminalLine } from "./line-splitter";

function split(chunks: string[]) {
  const lines: string[] = [];
  const splitter = new LineSplitter((l) => lines.push(l), 64);
  for (const c of chunks) splitter.push(Buffer.from(c));
  splitter.flush();
  return lines;
}

describe("LineSplitter", () => {
  it("collapses dpkg's redrawn 'Reading database' progress into the line a terminal shows", () => {
    const dpkg =
      "(Reading database ... \r(Reading database ... 5%\r(Reading database ... 50%\r(Reading database ... 6789 files and directories currently installed.)\n";
    expect(split([dpkg, "Unpacking jq ...\n"])).toEqual(["(Reading database ... 6789 files and directories currently installed.)", "Unpacking jq ..."]);
  });

  it("collapses a redraw cut across chunks, and keeps CRLF line ends as one line", () => {
    expect(split(["50%\r", "60%\r", "done\r", "\nnext\r\n"])).toEqual(["done", "next"]);
  });

  it("does not cut a long redraw that ends short", () => {
    const redraws = Array.from({ length: 100 }, (_, i) => `progress ${i}%`).join("\r");
    expect(split([redraws, "\n"])).toEqual(["progress 99%"]);
  });

  it("still cuts a long line without carriage returns", () => {
    expect(split(["x".repeat(130), "\n"])).toEqual(["x".repeat(64), "x".repeat(64), "xx"]);
  });

  it("hands on a line without newline in pieces as it arrives, never holding more than one piece", () => {
    const pieces: number[] = [];
    const splitter = new LineSplitter((l) => pieces.push(l.length), 1000);
    const chunk = Buffer.alloc(65_536, "x");
    // 64 MB without a newline: every piece is out before the next chunk comes.
    for (let i = 0; i < 1024; i++) {
      splitter.push(chunk);
      const handedOn = pieces.reduce((a, b) => a + b, 0);
      expect((i + 1) * chunk.length - handedOn).toBeLessThanOrEqual(1000);
    }
    splitter.flush();
    expect(pieces.every((n) => n <= 1000)).toBe(true);
    expect(pieces.reduce((a, b) => a + b, 0)).toBe(1024 * chunk.length);
  });

  it("splits many short lines of one chunk, and a line cut across chunks", () => {
    expect(split(["y\n".repeat(5) + "par", "tial\n"])).toEqual(["y", "y", "y", "y", "y", "partial"]);
  });

  it("keeps a multi-byte character cut between chunks", () => {
    const bytes = Buffer.from("größe\n");
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push(bytes.subarray(0, 3));
    s.push(bytes.subarray(3));
    s.flush();
    expect(lines).toEqual(["größe"]);
  });

  it("terminalLine keeps plain lines and empties a bare redraw", () => {
    expect(terminalLine("plain")).toBe("plain");
    expect(terminalLine("\r\r")).toBe("");
  });
});
