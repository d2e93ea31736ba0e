// The channel document a device polls: JSON bytes signed with Ed25519 over exactly those bytes.
//
// Documents are deterministic: the same channel state, device and hour give the same bytes (and, Ed25519 being
// deterministic, the same signature) in every web process, so ETags agree across processes and nothing is stored.
// issuedAt is the start of the current hour and expiresAt a day later: a document is re-signed every hour, long
// before it expires, and a device that cannot reach the portal for a day stops trusting what it has.
import crypto from "node:crypto";
import { inRollout } from "./rollout";
import { sign, type SigningKey } from "./signing";

export const DOCUMENT_SCHEMA = "strata.channel.v1";
export const DOCUMENT_WINDOW_MS = 60 * 60 * 1000;
export const DOCUMENT_LIFETIME_MS = 24 * 60 * 60 * 1000;

export interface ReleaseState {
  id: string;
  version: string;
  notes: string;
  image: string;
  digest: string;
  size: number | null;
}

/** What the document of any device on a channel depends on, besides the device itself. */
export interface ChannelState {
  id: string;
  name: string;
  flavour: { id: string; name: string };
  paused: boolean;
  haltReason: string | null;
  sequence: number;
  rolloutPercent: number;
  release: ReleaseState | null;
  previous: ReleaseState | null;
}

export interface DeviceState {
  id: string;
  channelId: string;
  pinnedReference: string | null;
  sequence: number;
}

export interface SignedDocument {
  body: Buffer;
  signature: string;
  etag: string;
  sequence: number;
}

const DIGEST_IN_REFERENCE = /@(sha256:[a-f0-9]{64})$/;

/** The release a device is given: the current one inside the rollout, else the one before it (or none). */
export function releaseFor(state: ChannelState, deviceId: string): ReleaseState | null {
  if (!state.release) return null;
  if (state.rolloutPercent >= 100 || inRollout(deviceId, state.release.id, state.rolloutPercent)) return state.release;
  return state.previous;
}

export function channelDocument(state: ChannelState, device: DeviceState, now: number, key: SigningKey): SignedDocument {
  const issued = Math.floor(now / DOCUMENT_WINDOW_MS) * DOCUMENT_WINDOW_MS;
  const sequence = Math.max(state.sequence, device.sequence);
  const release = device.pinnedReference ? null : releaseFor(state, device.id);
  const halted = state.paused || state.haltReason !== null;
  const target = device.pinnedReference
    ? { image: device.pinnedReference, digest: DIGEST_IN_REFERENCE.exec(device.pinnedReference)?.[1] ?? null, version: null, releaseId: null }
    : release && !halted
      ? { image: release.image, digest: release.digest, version: release.version, releaseId: release.id }
      : null;
  const doc = {
    schema: DOCUMENT_SCHEMA,
    sequence,
    issuedAt: new Date(issued).toISOString(),
    expiresAt: new Date(issued + DOCUMENT_LIFETIME_MS).toISOString(),
    device: device.id,
    flavour: state.flavour,
    channel: { id: state.id, name: state.name, paused: state.paused, haltReason: state.haltReason },
    pinned: device.pinnedReference !== null,
    release: release && {
      id: release.id,
      version: release.version,
      notes: release.notes,
      image: release.image,
      digest: release.digest,
      size: release.size,
      rolloutPercent: release.id === state.release?.id ? state.rolloutPercent : 100,
    },
    target,
  };
  const body = Buffer.from(JSON.stringify(doc, null, 2) + "\n");
  const hash = crypto.createHash("sha256").update(body).update(key.fingerprint).digest("hex");
  return { body, signature: sign(body, key), etag: `"${hash.slice(0, 32)}"`, sequence };
}
