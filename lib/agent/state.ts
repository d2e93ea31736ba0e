// The agent's state under --root (agent.json): who the device is, and the last channel document it accepted.
//
// Mode 0600: it holds the device secret. Written atomically, so a power cut never leaves a device
// that forgot its identity or the sequence it must not go back from.
import fs from "node:fs/promises";
import path from "node:path";
import type { ChannelTarget } from "./document";
import { writeFileAtomic } from "./files";
import type { SlotName } from "./slots";

export interface AgentState {
  /** The portal's base URL the device registered with; --server overrides it. */
  server: string;
  /** The CA file given at registration; --ca overrides it. */
  ca: string | null;
  deviceId: string;
  secret: string;
  channel: { id: string; name: string } | null;
  flavour: { id: string; name: string } | null;
  registeredAt: string;
  /** The last accepted document: a new one may not have a lower sequence, or the same one issued earlier. */
  lastSequence: number | null;
  lastIssuedAt: string | null;
  lastExpiresAt: string | null;
  /** Sent as If-None-Match; a 304 means the last accepted document (and its target) still holds. */
  lastEtag: string | null;
  lastTarget: ChannelTarget | null;
  /** The last report the portal took, so a success that could not be sent is sent on a later cycle. */
  lastReport: { result: "success" | "failure"; digest: string | null } | null;
  /**
   * Disk mode: an image installed into a slot that grub boots on trial, until a later cycle sees how that went
   * (the slot booted and was marked good, or grub fell back). Absent in state files of older agents.
   */
  pendingBoot?: PendingBoot | null;
  /** Disk mode: images that did not boot (grub fell back from them); not installed again. Newest last, at most 20. */
  failedDigests?: string[];
}

export interface PendingBoot {
  slot: SlotName;
  digest: string;
  image: string;
  version: string | null;
  releaseId: string | null;
  /** When it was installed: the slot record's installedAt once it is confirmed. */
  since: string;
}

export const stateFile = (root: string) => path.join(root, "agent.json");

export async function loadState(root: string): Promise<AgentState | null> {
  let text: string;
  try {
    text = await fs.readFile(stateFile(root), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    return JSON.parse(text) as AgentState;
  } catch {
    // Not silently re-registered: that would need a new token and make a second device on the portal.
    throw new Error(`${stateFile(root)} is not valid JSON; restore it, or remove it and register again with --token and --name`);
  }
}

export async function saveState(root: string, state: AgentState): Promise<void> {
  await writeFileAtomic(stateFile(root), `${JSON.stringify(state, null, 2)}\n`, 0o600);
}
