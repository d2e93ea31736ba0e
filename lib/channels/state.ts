// Reads what a channel's documents depend on (the channel, its flavour, current and previous release) in one query.
import { eq, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { DbOrTx } from "../db";
import { channels, flavours, releases } from "../db/schema";
import type { ChannelState, ReleaseState } from "./document";

const current = alias(releases, "current_release");
const previous = alias(releases, "previous_release");

const releaseFields = (r: typeof current | typeof previous) => ({
  id: r.id,
  version: r.version,
  notes: r.notes,
  image: r.imageRef,
  digest: r.imageDigest,
  size: r.imageSize,
});

export async function loadChannelStates(db: DbOrTx, ids: string[]): Promise<Map<string, ChannelState>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({
      id: channels.id,
      name: channels.name,
      flavourId: flavours.id,
      flavourName: flavours.name,
      pausedAt: channels.pausedAt,
      haltReason: channels.haltReason,
      sequence: channels.sequence,
      rolloutPercent: channels.rolloutPercent,
      release: releaseFields(current),
      previous: releaseFields(previous),
    })
    .from(channels)
    .innerJoin(flavours, eq(flavours.id, channels.flavourId))
    .leftJoin(current, eq(current.id, channels.releaseId))
    .leftJoin(previous, eq(previous.id, channels.previousReleaseId))
    .where(sql`${channels.id} = any(${sql.param(ids)}::uuid[])`);
  // Drizzle gives a left-joined object whose columns are all null as null itself.
  const asRelease = (r: ({ id: string | null } & Omit<ReleaseState, "id">) | null): ReleaseState | null => (r?.id ? { ...r, id: r.id } : null);
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        name: r.name,
        flavour: { id: r.flavourId, name: r.flavourName },
        paused: r.pausedAt !== null,
        haltReason: r.haltReason,
        sequence: Number(r.sequence),
        rolloutPercent: r.rolloutPercent,
        release: asRelease(r.release as never),
        previous: asRelease(r.previous as never),
      } satisfies ChannelState,
    ]),
  );
}
