// What the agent does: one cycle (register if needed, fetch and verify the channel document, upgrade, report) and the polling loop around it.
import crypto, { type KeyObject } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { RegistryCredentials } from "../registry";
import { installIntoPartition, isSet, osReleaseLabel, readBootState, readSlotImage, switchSlot, type BootState, type DiskSystem } from "./disk";
import { DocumentRefusedError, verifyChannelDocument, type ChannelTarget } from "./document";
import { writeFileAtomic } from "./files";
import { PortalClient, type StatusReport } from "./http";
import type { RegistryMirrors } from "./mirror";
import { pullImage, resolveDigest } from "./pull";
import { clearSlot, forgetSlot, otherSlot, readLayout, recordSlot, switchActive, type SlotName, type SlotRecord } from "./slots";
import { loadState, saveState, type AgentState, type PendingBoot } from "./state";
import { AGENT_VERSION } from "./version";

const MAX_BACKOFF_MS = 15 * 60 * 1000;
/** How many images that did not boot the agent remembers (disk mode). */
const MAX_FAILED_DIGESTS = 20;

export interface AgentOptions {
  /** The agent's root: agent.json, channel-key.pem, slots/<x>.json and, in directory mode, slots/<x>/ and active. */
  root: string;
  /** The portal's base URL; needed to register, afterwards the one in agent.json is used unless this is given. */
  server?: string;
  /** PEM file of the CA that signed the portal's certificate. */
  ca?: string;
  /** The channel key's PEM file, obtained out of band; without it, registration pins the key the portal sends. */
  key?: string;
  /** Registration token (or a file holding it) and device name: only read when the device has no state yet. */
  token?: string;
  tokenFile?: string;
  name?: string;
  registryCredentials: RegistryCredentials | null;
  /** Registries to pull from at another address (--registry-mirror). */
  registryMirrors?: RegistryMirrors;
  /** Disk mode: the slots are the partitions strata-a/strata-b and grub boots them; without it, directories under root. */
  disk?: DiskMode;
  log: (line: string) => void;
  now?: () => Date;
  /** Keep the image's owners (lchown); defaults to whether the agent runs as root, the only one allowed to. */
  chown?: boolean;
}

export interface DiskMode {
  system: DiskSystem;
  /** Boots a newly installed slot gets to reach multi-user.target before grub falls back (strata_tries, 1-3). */
  bootTries: number;
  /** Reboot into the new slot at once (false: at the next reboot, whoever makes it). */
  reboot: boolean;
}

/** What the running slot holds: its record, or (disk mode) what its slot-<x>.cfg says. */
type RunningImage = Pick<SlotRecord, "digest" | "image" | "version" | "releaseId">;

/** Disk mode, with what this boot is. */
type BootedDisk = DiskMode & { boot: BootState };

export type CycleOutcome =
  | { kind: "unchanged" | "no-target" }
  | { kind: "up-to-date"; digest: string }
  | { kind: "upgraded"; digest: string; slot: SlotName }
  /** Disk mode: written into the slot grub boots next, on trial; the result is reported after that boot. */
  | { kind: "installed"; digest: string; slot: SlotName; rebooting: boolean }
  /** Disk mode: the new slot booted and is on trial until strata-boot-good.service marks it good; nothing else is done. */
  | { kind: "unconfirmed"; slot: SlotName }
  /** Disk mode: the target is an image that did not boot before. */
  | { kind: "not-retrying"; digest: string };

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
  // Disk mode: the slot that runs is the one grub booted; directory mode: the one the active marker names.
  const disk: BootedDisk | null = opts.disk ? { ...opts.disk, boot: await readBootState(opts.disk.system) } : null;
  const runningSlot = disk ? disk.boot.running : layout.active;
  let running: RunningImage | null = runningSlot ? layout.records[runningSlot] : null;
  if (disk && !running) {
    // Slot A as the disk image maker wrote it: slot-a.cfg names the image, so the agent knows whether it is the target.
    const recorded = await readSlotImage(disk.boot.esp, disk.boot.running);
    if (recorded) running = { ...recorded, releaseId: null };
  }

  const save = async (changes: Partial<AgentState>) => {
    state = { ...state, ...changes };
    await saveState(opts.root, state);
  };
  /** Sends a status report; false when the portal did not take it. */
  const report = async (body: Omit<StatusReport, "agentVersion">): Promise<boolean> => {
    try {
      await portal.sendStatus({ ...body, agentVersion: AGENT_VERSION });
    } catch (err) {
      // A report that cannot be sent does not undo what was done; a success is sent again next cycle.
      opts.log(`could not report ${body.result} to the portal: ${(err as Error).message}`);
      return false;
    }
    await save({ lastReport: { result: body.result === "success" ? "success" : "failure", digest: body.currentDigest } });
    return true;
  };
  const fail = async (reason: string, target: ChannelTarget | null, cause: unknown): Promise<never> => {
    // version and releaseId name the release the failure is about; currentDigest is what still runs.
    const message = disk ? `${reason} (slot ${disk.boot.running} still runs ${await describeRunning(disk.system, running)})` : reason;
    await report({ result: "failure", currentDigest: running?.digest ?? null, version: target?.version ?? null, releaseId: target?.releaseId ?? null, message });
    throw new CycleError(reason, { cause });
  };

  // Disk mode: how did the boot into the slot installed last time go? Settled before anything else is done.
  const pending = disk ? (state.pendingBoot ?? null) : null;
  if (disk && pending) {
    const { boot } = disk;
    const what = pending.version ?? pending.image;
    if (boot.running === pending.slot && isSet(boot.grubenv, "strata_tries")) {
      opts.log(`slot ${pending.slot} runs ${what} on trial (strata_tries=${boot.grubenv.strata_tries}): waiting for strata-boot-good.service to mark it good`);
      return { kind: "unconfirmed", slot: pending.slot };
    }
    if (boot.running === pending.slot) {
      const record: SlotRecord = { digest: pending.digest, image: pending.image, version: pending.version, releaseId: pending.releaseId, installedAt: pending.since };
      await recordSlot(opts.root, pending.slot, record);
      running = record;
      await save({ pendingBoot: null });
      const message = `booted ${what} from slot ${pending.slot}`;
      opts.log(message);
      await report({ result: "success", currentDigest: pending.digest, version: pending.version, releaseId: pending.releaseId, message });
    } else if (boot.grubenv.strata_failed === pending.slot) {
      const message = `${what} did not reach multi-user.target in slot ${pending.slot}; fell back to slot ${boot.running} (${await describeRunning(disk.system, running)})`;
      opts.log(message);
      await save({ failedDigests: [...(state.failedDigests ?? []).filter((d) => d !== pending.digest), pending.digest].slice(-MAX_FAILED_DIGESTS) });
      // Kept until the portal has it: the fallback happens once, so its report is sent again next cycle.
      const sent = await report({ result: "failure", currentDigest: running?.digest ?? null, version: pending.version, releaseId: pending.releaseId, message });
      if (sent) await save({ pendingBoot: null });
    } else {
      // The agent stopped between saving the pending boot and switching grub: the slot's content is not known good.
      opts.log(`the switch to slot ${pending.slot} (${what}) was never made; installing it again`);
      await save({ pendingBoot: null });
    }
  }

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
    digest = target.digest ?? (await resolveDigest(target.image, opts.registryCredentials, opts.registryMirrors));
  } catch (err) {
    return fail(`cannot resolve ${target.image}: ${(err as Error).message}`, target, err);
  }
  if (running?.digest === digest) {
    const reported = state.lastReport?.result === "success" && state.lastReport.digest === digest;
    // The running image is the target's, so the target names its release (slot A as made by the disk image maker
    // records only the build's version).
    const version = target.version ?? running.version;
    if (!reported) await report({ result: "success", currentDigest: digest, version, releaseId: target.releaseId ?? running.releaseId, message: `running ${version ?? running.image} (${digest}) in slot ${runningSlot}` });
    return answer.status === 304 ? { kind: "unchanged" } : { kind: "up-to-date", digest };
  }
  if (state.failedDigests?.includes(digest)) {
    // Reported when grub fell back from it; a new release (another digest) is installed as usual.
    opts.log(`not retrying ${label} (${digest}): it did not reach multi-user.target before`);
    return { kind: "not-retrying", digest };
  }
  if (disk) return installIntoDisk(opts, disk, { target, digest, now: now() }, { save, fail });

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
      mirrors: opts.registryMirrors,
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

/**
 * Disk mode's upgrade: the image goes into the other slot's partition, grub is told to boot it on trial, and the
 * machine reboots. What is reported depends on that boot, so nothing is reported now: the next cycle after the
 * reboot settles the pending boot (success, or the fallback as a failure).
 */
async function installIntoDisk(
  opts: AgentOptions,
  disk: BootedDisk,
  upgrade: { target: ChannelTarget; digest: string; now: Date },
  cycle: { save: (changes: Partial<AgentState>) => Promise<void>; fail: (reason: string, target: ChannelTarget | null, cause: unknown) => Promise<never> },
): Promise<CycleOutcome> {
  const { system, bootTries, boot } = disk;
  const { target, digest } = upgrade;
  const label = target.version ?? target.image;
  const slot = otherSlot(boot.running);
  let pending: PendingBoot | null = null;
  try {
    opts.log(`upgrading to ${label} (${digest}) in slot ${slot} (partition strata-${slot})`);
    await forgetSlot(opts.root, slot);
    const pulled = await installIntoPartition({
      system,
      slot,
      esp: boot.esp,
      image: target.image,
      version: target.version,
      unpack: (dir) =>
        pullImage({ image: target.image, digest, slot: dir, credentials: opts.registryCredentials, mirrors: opts.registryMirrors, chown: opts.chown ?? process.getuid?.() === 0, log: opts.log }),
    });
    pending = { slot, digest: pulled.digest, image: target.image, version: target.version, releaseId: target.releaseId, since: upgrade.now.toISOString() };
    // Saved before grub is switched: a pending boot whose switch never happened is noticed (and installed again);
    // a switch the agent forgot would boot an image it knows nothing about.
    await cycle.save({ pendingBoot: pending });
    await switchSlot(system, boot.grubenvFile, { to: slot, from: boot.running, tries: bootTries });
  } catch (err) {
    if (pending) await cycle.save({ pendingBoot: null });
    // grubenv still names the running slot: nothing the machine boots has changed.
    return cycle.fail(`upgrade to ${label} (${digest}) failed: ${(err as Error).message}`, target, err);
  }
  // Past the switch, a failure no longer means the upgrade failed: a clean reboot flushes everything anyway.
  await system.sync().catch((err: Error) => opts.log(`sync after switching grub failed: ${err.message}`));
  opts.log(`installed ${label} (${pending.digest}) in slot ${slot}; grub boots it next, on trial (${bootTries} boot${bootTries === 1 ? "" : "s"} to reach multi-user.target, else back to slot ${boot.running})`);
  if (!disk.reboot) {
    opts.log(`not rebooting (--no-reboot): slot ${slot} boots at the next reboot`);
    return { kind: "installed", digest: pending.digest, slot, rebooting: false };
  }
  try {
    opts.log(`rebooting into slot ${slot}`);
    await system.reboot();
  } catch (err) {
    opts.log(`could not reboot (${(err as Error).message}); slot ${slot} boots at the next reboot`);
    return { kind: "installed", digest: pending.digest, slot, rebooting: false };
  }
  return { kind: "installed", digest: pending.digest, slot, rebooting: true };
}

/** What a slot runs, for messages: its record, else the image's os-release (slot A as the disk image maker wrote it). */
async function describeRunning(system: DiskSystem, record: RunningImage | null): Promise<string> {
  if (record) return `${record.version ?? record.image} (${record.digest})`;
  return osReleaseLabel(await system.readOsRelease().catch(() => null)) ?? "an image the agent did not install";
}

/** First run: trade the registration token for the device's identity, and pin the channel key. */
async function register(opts: AgentOptions, now: Date): Promise<AgentState> {
  const token = opts.token ?? (opts.tokenFile ? await readTokenFile(opts.tokenFile) : undefined);
  if (!opts.server || !token || !opts.name) {
    throw new Error(`this device is not registered yet (no ${path.join(opts.root, "agent.json")}): pass --server, --token (or --token-file) and --name`);
  }
  const ca = opts.ca ? await fs.readFile(opts.ca) : undefined;
  const registration = await new PortalClient(opts.server, { ca }).register({ token, name: opts.name, agentVersion: AGENT_VERSION });

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

async function readTokenFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read the registration token from ${file}: ${(err as Error).message}`);
  }
  const token = text.trim();
  if (!token) throw new Error(`${file} is empty; it should hold the registration token (strata_reg_…)`);
  return token;
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
