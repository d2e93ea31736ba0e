// Verifies a channel document ("strata.channel.v1") before the agent acts on it: signature, addressee, expiry, sequence.
import crypto, { type KeyObject } from "node:crypto";

export const CHANNEL_SCHEMA = "strata.channel.v1";

/** What the device should run now, as the server names it. `digest` is null for a pinned tag. */
export interface ChannelTarget {
  image: string;
  digest: string | null;
  version: string | null;
  releaseId: string | null;
}

/** The fields of the document the agent relies on; the rest (release notes, rollout) is for people. */
export interface ChannelDocument {
  schema: typeof CHANNEL_SCHEMA;
  sequence: number;
  issuedAt: string;
  expiresAt: string;
  device: string;
  flavour: { id: string; name: string };
  channel: { id: string; name: string; paused: boolean; haltReason: string | null };
  pinned: boolean;
  target: ChannelTarget | null;
}

/** The last document this device accepted: a new one may not go back from it. */
export interface AcceptedPosition {
  sequence: number;
  issuedAt: string;
}

/** A document the agent will not act on; the message says why, for the log and the failure report. */
export class DocumentRefusedError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(`refused the channel document: ${reason}`);
    this.name = "DocumentRefusedError";
    this.reason = reason;
  }
}

export interface VerifyInput {
  /** The response body exactly as received: the signature is over these bytes, not over re-serialised JSON. */
  body: Buffer;
  /** The X-Strata-Signature header (base64), or null when the server sent none. */
  signature: string | null;
  publicKey: KeyObject;
  deviceId: string;
  last: AcceptedPosition | null;
  now: Date;
}

export function verifyChannelDocument(input: VerifyInput): ChannelDocument {
  const { body, signature, publicKey, deviceId, last, now } = input;
  if (!signature) throw new DocumentRefusedError("the server sent no X-Strata-Signature header");
  const signatureBytes = Buffer.from(signature, "base64");
  let valid = false;
  try {
    valid = crypto.verify(null, body, publicKey, signatureBytes);
  } catch {
    // A signature of the wrong length makes verify throw rather than answer false; it is just as invalid.
  }
  if (!valid) throw new DocumentRefusedError("signature does not verify with the pinned key");

  // Past the signature the bytes are the server's own, so a malformed document is a server bug;
  // it is still refused with a reason rather than acted on.
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new DocumentRefusedError("the body is not JSON");
  }
  if (!document || typeof document !== "object") throw new DocumentRefusedError("the body is not a JSON object");
  if (document.schema !== CHANNEL_SCHEMA) throw new DocumentRefusedError(`its schema is ${JSON.stringify(document.schema)}, not "${CHANNEL_SCHEMA}"`);
  if (document.device !== deviceId) throw new DocumentRefusedError(`it is for device ${JSON.stringify(document.device)}, not this device (${deviceId})`);

  const { sequence, issuedAt, expiresAt } = document;
  if (typeof sequence !== "number" || !Number.isSafeInteger(sequence) || sequence < 0) throw new DocumentRefusedError("its sequence is not a non-negative integer");
  const issued = timeOf(issuedAt, "issuedAt");
  const expires = timeOf(expiresAt, "expiresAt");
  if (expires <= now.getTime()) throw new DocumentRefusedError(`it expired at ${expiresAt as string}`);

  if (last) {
    if (sequence < last.sequence) throw new DocumentRefusedError(`replayed: its sequence ${sequence} is lower than the last accepted ${last.sequence}`);
    if (sequence === last.sequence && issued < Date.parse(last.issuedAt)) {
      throw new DocumentRefusedError(`replayed: sequence ${sequence} was issued at ${last.issuedAt}, and this copy claims the earlier ${issuedAt as string}`);
    }
  }

  return {
    schema: CHANNEL_SCHEMA,
    sequence,
    issuedAt: issuedAt as string,
    expiresAt: expiresAt as string,
    device: deviceId,
    flavour: document.flavour as ChannelDocument["flavour"],
    channel: document.channel as ChannelDocument["channel"],
    pinned: document.pinned === true,
    target: targetOf(document.target),
  };
}

function timeOf(value: unknown, field: string): number {
  const time = typeof value === "string" ? Date.parse(value) : NaN;
  if (Number.isNaN(time)) throw new DocumentRefusedError(`its ${field} is not a date`);
  return time;
}

function targetOf(value: unknown): ChannelTarget | null {
  if (value === null || value === undefined) return null;
  const target = value as Record<string, unknown>;
  const optional = (field: string) => {
    const v = target[field];
    if (v === null || v === undefined) return null;
    if (typeof v !== "string") throw new DocumentRefusedError(`its target.${field} is not a string`);
    return v;
  };
  if (typeof target !== "object" || typeof target.image !== "string" || target.image === "") throw new DocumentRefusedError("its target has no image reference");
  return { image: target.image, digest: optional("digest"), version: optional("version"), releaseId: optional("releaseId") };
}
