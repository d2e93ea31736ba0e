// Docker progress streams: messages cut across chunks, glued together, and errors inside a 200 response.
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { EngineStreamError, followProgress } from "./streams";

const chunks = (...parts: (string | Buffer)[]) => Readable.from(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));

describe("followProgress", () => {
  it("reads messages cut across chunks, glued without separators, and split inside a UTF-8 character", async () => {
    const euro = Buffer.from('{"status":"€"}');
    const messages = await followProgress(
      chunks('{"status":"Pushing","id":"a"}\r\n{"stat', 'us":"with } and { in a string"}{"aux":{"Digest":"sha256:ab"}}\n', euro.subarray(0, 12), euro.subarray(12)),
    );
    expect(messages).toEqual([
      { status: "Pushing", id: "a" },
      { status: "with } and { in a string" },
      { aux: { Digest: "sha256:ab" } },
      { status: "€" },
    ]);
  });

  it("fails with the engine's message when a message carries an error", async () => {
    const stream = chunks('{"status":"Preparing"}\n{"errorDetail":{"message":"denied: requested access"},"error":"denied"}\n');
    await expect(followProgress(stream)).rejects.toThrow(EngineStreamError);
    await expect(followProgress(chunks('{"error":"manifest unknown"}'))).rejects.toThrow("manifest unknown");
  });

  it("fails when the stream stops in the middle of a message", async () => {
    await expect(followProgress(chunks('{"status":"Pus'))).rejects.toThrow(/middle of a message/);
  });
});
