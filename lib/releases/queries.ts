// Release rows as every page and API shows them: with their channel, flavour, organisation, build and requester.
import { eq, type SQL } from "drizzle-orm";
import type { DbOrTx } from "../db";
import { builds, channels, flavours, orgs, releases, users } from "../db/schema";

export const releaseColumns = {
  id: releases.id,
  version: releases.version,
  notes: releases.notes,
  status: releases.status,
  imageRef: releases.imageRef,
  imageDigest: releases.imageDigest,
  imageSize: releases.imageSize,
  rolloutPercent: releases.rolloutPercent,
  requestedAt: releases.requestedAt,
  requestedBy: users.email,
  decidedAt: releases.decidedAt,
  decisionReason: releases.decisionReason,
  channel: { id: channels.id, name: channels.name },
  flavour: { id: flavours.id, name: flavours.name },
  org: { id: orgs.id, name: orgs.name },
  // kind and sourceReference: an imported build (made by hand) is marked as such where it is approved.
  build: { id: builds.id, version: builds.version, kind: builds.kind, sourceReference: builds.sourceReference },
};

/** The joined query; callers add the filter (org scope included), order and limit; `extra` adds columns (e.g. a cursor key). */
export function selectReleases<E extends Record<string, SQL.Aliased | SQL>>(db: DbOrTx, extra?: E) {
  return db
    .select({ ...releaseColumns, ...(extra as E) })
    .from(releases)
    .innerJoin(channels, eq(channels.id, releases.channelId))
    .innerJoin(flavours, eq(flavours.id, channels.flavourId))
    .innerJoin(orgs, eq(orgs.id, releases.orgId))
    .innerJoin(builds, eq(builds.id, releases.buildId))
    .leftJoin(users, eq(users.id, releases.requestedBy));
}
