import crypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { DocumentRefusedError, verifyChannelDocument, type AcceptedPosition } from "./document";

const keys = crypto.generateKeyPairSync("ed25519");
const deviceId = "6f1c7a52-0d7e-4d4b-9a53-2a4f2f0f6d11";
const now = new Date("2026-12-02T12:00:00.000Z");

function signed(overrides: Record<string, unknown> = {}, key = keys.privateKey) {
  const document = {
    schema: "strata.channel.v1",
    sequence: 42,
    issuedAt: "2026-12-02T04:00:00.000Z",
    expiresAt: "2026-12-03T04:00:00.000Z",
    device: deviceId,
    flavour: { id: "f", name: "web" },
    channel: { id: "c", name: "stable", paused: false, haltReason: null },
    pinned: false,
    release: null,
    target: { image: "127.0.0.1:5000/acme/web@sha256:" + "a".repeat(64), digest: "sha256:" + "a".repeat(64), version: "1.2.0", releaseId: "r" },
    ...overrides,
  };
  const body = Buffer.from(JSON.stringify(document));
  return { body, signature: crypto.sign(null, body, key).toString("base64") };
}

const verify = (doc: { body: Buffer; signature: string | null }, last: AcceptedPosition | null = null) =>
  verifyChannelDocument({ ...doc, publicKey: keys.publicKey, deviceId, last, now });

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DocumentRefusedError);
    return (err as Error).message;
  }
  throw new Error("the document was accepted");
}

describe("verifyChannelDocument", () => {
  it("accepts a signed, current document for this device and returns its target", () => {
    const document = verify(signed(), { sequence: 41, issuedAt: "2026-12-01T04:00:00.000Z" });
    expect(document.sequence).toBe(42);
    expect(document.target?.version).toBe("1.2.0");
  });

  it("accepts the same document again (same sequence, same issuedAt)", () => {
    expect(verify(signed(), { sequence: 42, issuedAt: "2026-12-02T04:00:00.000Z" }).sequence).toBe(42);
  });

  it("refuses a body altered after signing", () => {
    const doc = signed();
    const tampered = Buffer.from(doc.body.toString().replace("1.2.0", "6.6.6"));
    expect(refusal(() => verify({ body: tampered, signature: doc.signature }))).toBe(
      "refused the channel document: signature does not verify with the pinned key",
    );
  });

  it("refuses a document signed with another key, or not signed", () => {
    const forger = crypto.generateKeyPairSync("ed25519");
    expect(refusal(() => verify(signed({}, forger.privateKey)))).toMatch(/signature does not verify with the pinned key/);
    expect(refusal(() => verify({ body: signed().body, signature: null }))).toMatch(/no X-Strata-Signature/);
    expect(refusal(() => verify({ body: signed().body, signature: "c2hvcnQ=" }))).toMatch(/signature does not verify/);
  });

  it("refuses an expired document", () => {
    expect(refusal(() => verify(signed({ expiresAt: "2026-12-02T11:59:59.000Z" })))).toMatch(/expired at 2026-12-02T11:59:59.000Z/);
  });

  it("refuses a lower sequence as a replay", () => {
    expect(refusal(() => verify(signed({ sequence: 41 }), { sequence: 42, issuedAt: "2026-12-02T04:00:00.000Z" }))).toMatch(
      /replayed: its sequence 41 is lower than the last accepted 42/,
    );
  });

  it("refuses the same sequence with an earlier issuedAt as a replay", () => {
    expect(refusal(() => verify(signed({ issuedAt: "2026-12-02T03:00:00.000Z" }), { sequence: 42, issuedAt: "2026-12-02T04:00:00.000Z" }))).toMatch(/replayed/);
  });

  it("refuses a document for another device", () => {
    expect(refusal(() => verify(signed({ device: "someone-else" })))).toMatch(/for device "someone-else", not this device/);
  });

  it("refuses another schema", () => {
    expect(refusal(() => verify(signed({ schema: "strata.channel.v2" })))).toMatch(/schema is "strata.channel.v2"/);
  });

  it("reads a null target as nothing to run", () => {
    expect(verify(signed({ target: null })).target).toBeNull();
  });
});
