// The admin area's build-cache controls.
import { z } from "zod";
import { route, timestamp } from "../spec";

const tags = ["admin"];

/** One recorded prune (which worker ran it stays in the admin page, not the API). */
const CachePrune = z.object({
  id: z.uuid(),
  startedAt: timestamp,
  finishedAt: timestamp.nullable(),
  maxAgeDays: z.number().int().describe("Cache images not used for this many days were candidates"),
  removedImages: z.number().int(),
  removedTags: z.number().int(),
  freedBytes: z.number().int(),
  cacheImages: z.number().int().nullable().describe("The engine's cache images afterwards"),
  cacheBytes: z.number().int().nullable(),
  error: z.string().nullable(),
});

export const getCache = route({
  method: "GET",
  path: "/api/v1/admin/cache",
  summary: "The build cache on the engine (images, bytes of their own layers), the last prunes and the prune settings",
  tags,
  role: "admin",
  response: z.object({
    usage: z.object({ images: z.number().int().nullable(), bytes: z.number().int().nullable(), error: z.string().nullable().describe("Why the size is unknown (the engine did not answer)") }),
    lastPrune: CachePrune.nullable(),
    recentPrunes: z.array(CachePrune),
    settings: z.object({ maxAgeDays: z.number().int(), intervalHours: z.number() }),
    nextDueAt: timestamp,
  }),
});

export const pruneCache = route({
  method: "POST",
  path: "/api/v1/admin/cache/prune",
  summary: "Prune the build cache now (what the schedule does) and answer with the recorded run",
  tags,
  role: "admin",
  response: z.object({ prune: CachePrune }),
  errors: { 409: "A prune is running already" },
});
