// Channels: one with its releases and device figures, its settings, and the admin's pause, resume, rollout and rollback.
import { z } from "zod";
import { idParams, route, timestamp, uuid } from "../spec";
import { UPGRADE_RESULTS } from "../../db/schema";
import { PauseInput, RollbackInput, RolloutInput, UpdateChannelInput } from "../../channels/channels";
import { ReleaseItem } from "./lists";

const NO_CHANNEL = "No such channel.";

export const ChannelItem = z.object({
  id: uuid,
  flavourId: uuid,
  name: z.string(),
  description: z.string(),
  releaseId: uuid.nullable().describe("The release devices on this channel get"),
  previousReleaseId: uuid.nullable(),
  rolloutPercent: z.number().int().describe("Share of devices that get the release, 1–100"),
  pausedAt: timestamp.nullable(),
  pauseReason: z.string().nullable(),
  haltedAt: timestamp.nullable().describe("Set when the rollout halted by itself (too many failures)"),
  haltReason: z.string().nullable(),
  failureThresholdPercent: z.number().int().describe("The rollout halts when this share of reporting devices failed"),
  failureMinReports: z.number().int().describe("…once at least this many devices reported"),
  reportsCountedFrom: timestamp.describe("Failure reports count from here (the last approval, resume or rollback)"),
  sequence: z.number().int().describe("The channel document's sequence: grows with every change devices must hear of"),
  createdAt: timestamp,
});

export const getChannel = route({
  method: "GET",
  path: "/api/v1/channels/{id}",
  summary: "One channel: its flavour, current and previous release, history and device figures",
  tags: ["channels"],
  role: "customer",
  params: idParams,
  notFound: NO_CHANNEL,
  response: z.object({
    channel: ChannelItem,
    flavour: z.object({ id: uuid, name: z.string() }),
    release: ReleaseItem.nullable(),
    previous: ReleaseItem.nullable(),
    history: z.array(ReleaseItem),
    failures: z.object({ reported: z.number().int(), failed: z.number().int() }).nullable().describe("Devices that reported on the current release, and how many failed"),
    devices: z.object({
      byVersion: z.array(z.object({ version: z.string().nullable(), count: z.number().int() })),
      byResult: z.array(z.object({ result: z.enum(UPGRADE_RESULTS).nullable(), count: z.number().int() })),
      total: z.number().int(),
    }),
  }),
});

export const updateChannel = route({
  method: "PATCH",
  path: "/api/v1/channels/{id}",
  summary: "Change a channel's description and failure threshold",
  tags: ["channels"],
  role: "customer",
  params: idParams,
  notFound: NO_CHANNEL,
  body: UpdateChannelInput,
  response: ChannelItem,
});

export const pauseChannel = route({
  method: "POST",
  path: "/api/v1/channels/{id}/pause",
  summary: "Pause a channel: devices stay where they are until it is resumed",
  tags: ["channels"],
  role: "admin",
  params: idParams,
  notFound: NO_CHANNEL,
  body: PauseInput,
  response: ChannelItem,
  errors: { 409: "The channel is paused already" },
});

export const resumeChannel = route({
  method: "POST",
  path: "/api/v1/channels/{id}/resume",
  summary: "Resume a paused channel, or a rollout that halted by itself",
  tags: ["channels"],
  role: "admin",
  params: idParams,
  notFound: NO_CHANNEL,
  response: ChannelItem,
  errors: { 409: "The channel is neither paused nor halted" },
});

export const setRollout = route({
  method: "POST",
  path: "/api/v1/channels/{id}/rollout",
  summary: "Set the share of devices that get the channel's release",
  tags: ["channels"],
  role: "admin",
  params: idParams,
  notFound: NO_CHANNEL,
  body: RolloutInput,
  response: ChannelItem,
  errors: { 409: "The channel has no release yet, or the rollout is at that share already" },
});

export const rollbackChannel = route({
  method: "POST",
  path: "/api/v1/channels/{id}/rollback",
  summary: "Make an earlier approved release the channel's release again, for every device",
  tags: ["channels"],
  role: "admin",
  params: idParams,
  notFound: NO_CHANNEL,
  body: RollbackInput,
  response: ChannelItem,
  errors: { 409: "That release is the channel's release already", 404: "No such channel, or no such release on it" },
});
