// What the agent does: one cycle (register if needed, fetch and verify the channel document, upgrade, report) and the polling loop around it.
import crypto, { type KeyObject } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { RegistryCredentials } from "../registry";
import { DocumentRefusedError, verifyChannelDocument, type ChannelTarget } from "./document";
import { writeFileAtomic } from "./files";
import { PortalClient, type StatusReport } from "./http";
import { pullImage, resolveDigest } from "./pull";
import { clearSlot, readLayout, recordSlot, switchActive, type SlotRecord } from "./slots";
import { loadState, saveState, type AgentState } from "./state";
import { AGENT_VERSION } from "./version";

const MAX_BACKOFF_MS = 15 * 60 * 1000;

export interface AgentOptions {
  /** The A/B root: slots/, active, agent.json, channel-key.pem. */
  root: string;
  /** The portal's base URL; needed to register, afterwards the one in agent.json is used unless this is given. */
  server?: string;
  /** PEM file of the CA that signed the portal's certificate. */
  ca?: string;
  /** The channel key's PEM file, obtained out of band; without it, registration pins the key the portal sends. */
  key?: string;
  /** Registration token and device name: only read when the device has no state yet. */
  token?: string;
  name?: string;
  registryCredentials: RegistryCredentials | null;
  log: (line: string) => void;
  now?: () => Date;
  /** Keep the image's owners (lchown); defaults to whether the agent runs as root, the only one allowed to. */
  chown?: boolean;
}

export type CycleOutcome =
  | { kind: "unchanged" | "no-target" }
  | { kind: "up-to-date"; digest: string }
  | { kind: "upgraded"; digest: string; slot: "a" | "b" };

/** A cycle that failed; the message is the reason, already reported to the portal when it could be. */
export class CycleError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CycleError";
  }
}

export const pinnedKeyFile = (root: string) => path.join(root, "channel-key.pem");

export async function runCycle(opts: AgentOptions): Promise<CycleOutcome> {
  const now = opts.now ?? (() => new Date());
  await fs.mkdir(opts.root, { recursive: true });
  let state = (await loadState(opts.root)) ?? (await register(opts, now()));

  const caFile = opts.ca ?? state.ca;
  const ca = caFile ? await fs.readFile(caFile) : undefined;
  const portal = new PortalClient(opts.server ?? state.server, { ca, device: { deviceId: state.deviceId, secret: state.secret } });
  const publicKey = await loadPinnedKey(opts.key ?? pinnedKeyFile(opts.root));
  const layout = await readLayout(opts.root);
  const running = layout.active ? layout.records[layout.active] : null;

  const report = async (body: Omit<StatusReport, "agentVersion">): Promise<void> => {
    try {
      await portal.sendStatus({ ...body, agentVersion: AGENT_VERSION });
    } catch (err) {
      // A report that cannot be sent does not undo what was done; a success is sent again next cycle.
      opts.log(`could not report ${body.result} to the portal: ${(err as Error).message}`);
      return;
    }
    state = { ...state, lastReport: { result: body.result === "success" ? "success" : "failure", digest: body.currentDigest } };
    await saveState(opts.root, state);
  };
  const fail = async (reason: string, target: ChannelTarget | null, cause: unknown): Promise<never> => {
    // version and releaseId name the release the failure is about; currentDigest is what still runs.
    await report({ result: "failure", currentDigest: running?.digest ?? null, version: target?.version ?? null, releaseId: target?.releaseId ?? null, message: reason });
    throw new CycleError(reason, { cause });
  };

  // An accepted document that has expired since no longer holds, whatever a 304 would say: fetch it anew.
  const expired = state.lastExpiresAt !== null && Date.parse(state.lastExpiresAt) <= now().getTime();
  const answer = await portal.fetchChannel(expired ? null : state.lastEtag);
  let target: ChannelTarget | null;
  if (answer.status === 304) {
    target = state.lastTarget;
  } else {
    let document;
    try {
      const last = state.lastSequence === null || state.lastIssuedAt === null ? null : { sequence: state.lastSequence, issuedAt: state.lastIssuedAt };
      document = verifyChannelDocument({ body: answer.body, signature: answer.signature, publicKey, deviceId: state.deviceId, last, now: now() });
    } catch (err) {
      if (err instanceof DocumentRefusedError) return fail(err.message, null, err);
      throw err;
    }
    state = {
      ...state,
      channel: document.channel ? { id: document.channel.id, name: document.channel.name } : state.channel,
      flavour: document.flavour ?? state.flavour,
      lastSequence: document.sequence,
      lastIssuedAt: document.issuedAt,
      lastExpiresAt: document.expiresAt,
      lastEtag: answer.etag,
      lastTarget: document.target,
    };
    await saveState(opts.root, state);
    target = document.target;
    opts.log(`accepted channel document ${document.sequence} (channel ${document.channel?.name ?? "?"}${document.pinned ? ", pinned" : ""}): ${target ? `target ${target.version ?? target.image}` : "no target"}`);
  }

  if (!target) return { kind: answer.status === 304 ? "unchanged" : "no-target" };
  const label = target.version ?? target.image;

  let digest: string;
  try {
    digest = target.digest ?? (await resolveDigest(target.image, opts.registryCredentials));
  } catch (err) {
    return fail(`cannot resolve ${target.image}: ${(err as Error).message}`, target, err);
  }
  if (running?.digest === digest) {
    const reported = state.lastReport?.result === "success" && state.lastReport.digest === digest;
    if (!reported) await report({ result: "success", currentDigest: digest, version: running.version, releaseId: running.releaseId, message: `running ${running.version ?? running.image} (${digest}) in slot ${layout.active}` });
    return answer.status === 304 ? { kind: "unchanged" } : { kind: "up-to-date", digest };
  }

  const slot = layout.passive;
  let record: SlotRecord;
  try {
    opts.log(`upgrading to ${label} (${digest}) in slot ${slot}`);
    const dir = await clearSlot(opts.root, slot);
    const pulled = await pullImage({
      image: target.image,
      // A pinned tag is pulled by the digest it resolved to, so what is recorded is what was unpacked.
      digest,
      slot: dir,
      credentials: opts.registryCredentials,
      chown: opts.chown ?? process.getuid?.() === 0,
      log: opts.log,
    });
    record = { digest: pulled.digest, image: target.image, version: target.version, releaseId: target.releaseId, installedAt: now().toISOString() };
    await recordSlot(opts.root, slot, record);
    await switchActive(opts.root, slot);
  } catch (err) {
    // The active marker was not touched; the passive slot is wiped before the next attempt.
    return fail(`upgrade to ${label} (${digest}) failed: ${(err as Error).message}`, target, err);
  }
  const message = `upgraded to ${label} (${record.digest}) in slot ${slot}`;
  opts.log(message);
  await report({ result: "success", currentDigest: record.digest, version: target.version, releaseId: target.releaseId, message });
  return { kind: "upgraded", digest: record.digest, slot };
}

/** First run: trade the registration token for the device's identity, and pin the channel key. */
async function register(opts: AgentOptions, now: Date): Promise<AgentState> {
  if (!opts.server || !opts.token || !opts.name) {
    throw new Error(`this device is not registered yet (no ${path.join(opts.root, "agent.json")}): pass --server, --token and --name`);
  }
  const ca = opts.ca ? await fs.readFile(opts.ca) : undefined;
  const registration = await new PortalClient(opts.server, { ca }).register({ token: opts.token, name: opts.name, agentVersion: AGENT_VERSION });

  // The key from --key was checked out of band and wins; without one, the key the portal sent over
  // the CA-verified connection is pinned now and never fetched again.
  let pem = registration.publicKey;
  if (opts.key) {
    const given = await fs.readFile(opts.key, "utf8");
    if (!sameKey(parseChannelKey(given, opts.key), parseChannelKey(registration.publicKey, "the key the portal sent"))) {
      opts.log(`warning: the portal's channel key differs from ${opts.key}; keeping ${opts.key}, so documents the portal signs will be refused`);
    }
    pem = given;
  } else parseChannelKey(pem, "the key the portal sent");
  await writeFileAtomic(pinnedKeyFile(opts.root), pem.endsWith("\n") ? pem : `${pem}\n`);

  const state: AgentState = {
    server: opts.server,
    ca: opts.ca ? path.resolve(opts.ca) : null,
    deviceId: registration.deviceId,
    secret: registration.secret,
    channel: registration.channel ?? null,
    flavour: registration.flavour ?? null,
    registeredAt: now.toISOString(),
    lastSequence: null,
    lastIssuedAt: null,
    lastExpiresAt: null,
    lastEtag: null,
    lastTarget: null,
    lastReport: null,
  };
  await saveState(opts.root, state);
  opts.log(`registered as device ${state.deviceId} ("${opts.name}") on channel ${state.channel?.name ?? "?"} of flavour ${state.flavour?.name ?? "?"}`);
  return state;
}

async function loadPinnedKey(file: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    throw new Error(`no pinned channel key at ${file}: pass --key with the portal's key (GET /api/device/v1/keys, checked out of band)`);
  }
  return parseChannelKey(pem, file);
}

function parseChannelKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = crypto.createPublicKey(pem);
  } catch (err) {
    throw new Error(`${where} is not a PEM public key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`${where} is a ${key.asymmetricKeyType} key, not the Ed25519 key channel documents are signed with`);
  return key;
}

const sameKey = (a: KeyObject, b: KeyObject) => a.export({ type: "spki", format: "der" }).equals(b.export({ type: "spki", format: "der" }));

/**
 * How long to wait before the next cycle: the interval, ±20% so that a fleet started together
 * does not poll in step; after failures, doubled per failure in a row, up to 15 minutes.
 */
export function nextDelay(intervalMs: number, failures: number, random: () => number = Math.random): number {
  const ceiling = Math.max(MAX_BACKOFF_MS, intervalMs);
  const base = failures === 0 ? intervalMs : Math.min(ceiling, intervalMs * 2 ** failures);
  const jittered = Math.round(base * (0.8 + 0.4 * random()));
  return failures === 0 ? jittered : Math.min(ceiling, jittered);
}

/** Cycles until `signal` aborts; a failed cycle is logged and retried later, never fatal. */
export async function runLoop(opts: AgentOptions & { intervalSeconds: number; signal: AbortSignal }): Promise<void> {
  let failures = 0;
  while (!opts.signal.aborted) {
    try {
      await runCycle(opts);
      failures = 0;
    } catch (err) {
      failures++;
      opts.log(`cycle failed: ${(err as Error).message}`);
    }
    if (opts.signal.aborted) break;
    const delay = nextDelay(opts.intervalSeconds * 1000, failures);
    if (failures > 0) opts.log(`next try in ${Math.round(delay / 1000)} s (${failures} failed cycle${failures === 1 ? "" : "s"} in a row)`);
    try {
      await sleep(delay, undefined, { signal: opts.signal });
    } catch {
      break; // aborted while waiting
    }
  }
}
