// Versions of the base manifest: browse, publish (admins), and load the bundled ones at start.
import { and, desc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db, DbOrTx } from "../db";
import { auditLog, baseManifests } from "../db/schema";
import type { Actor } from "../auth/actor";
import { requireAdmin } from "../auth/roles";
import { ConflictError, NotFoundError, ValidationError } from "../errors";
import { parseManifestYaml } from "../manifest/parse";
import { loadBundledBaseManifests } from "../manifest/base";
import { toManifestYaml } from "../manifest/yaml";
import { parseInput } from "../validation";

export const PublishBaseManifestInput = z.object({ yaml: z.string().min(1, "yaml is required") }).strict();

const summary = {
  id: baseManifests.id,
  name: baseManifests.name,
  version: baseManifests.version,
  header: baseManifests.header,
  packageCount: sql<number>`jsonb_array_length(${baseManifests.packages})::int`,
  createdAt: baseManifests.createdAt,
};

export function listBaseManifests(db: DbOrTx) {
  return db.select(summary).from(baseManifests).orderBy(baseManifests.name, desc(baseManifests.createdAt));
}

export async function getBaseManifest(db: DbOrTx, id: string) {
  if (!z.uuid().safeParse(id).success) throw new NotFoundError("No such base manifest.");
  const [row] = await db.select().from(baseManifests).where(eq(baseManifests.id, id));
  if (!row) throw new NotFoundError("No such base manifest.");
  return row;
}

export async function findBaseManifest(db: DbOrTx, name: string, version: string) {
  const [row] = await db.select().from(baseManifests).where(and(eq(baseManifests.name, name), eq(baseManifests.version, version)));
  return row ?? null;
}

/** Admins publish a new version from YAML; earlier versions never change. */
export async function publishBaseManifest(db: Db, actor: Actor, input: unknown) {
  requireAdmin(actor);
  const { yaml } = parseInput(PublishBaseManifestInput, input);
  const parsed = parseManifestYaml(yaml);
  if (!parsed.ok) {
    const first = parsed.errors[0];
    throw new ValidationError(`The manifest is not valid: ${first.line ? `line ${first.line}: ` : ""}${first.path ? `${first.path}: ` : ""}${first.message}`, {
      issues: parsed.errors,
    });
  }
  const manifest = parsed.value;
  return db.transaction(async (tx) => {
    if (await findBaseManifest(tx, manifest.name, manifest.version))
      throw new ConflictError(`Base manifest ${manifest.name} version ${manifest.version} exists already; versions are immutable, publish a new version.`);
    const { packages, ...header } = manifest;
    const [row] = await tx.insert(baseManifests).values({ name: manifest.name, version: manifest.version, header, packages, source: yaml, publishedBy: actor.user.id }).returning();
    await tx.insert(auditLog).values({ orgId: actor.org.id, actorUserId: actor.user.id, action: "base-manifest.publish", subject: row.id, detail: { name: row.name, version: row.version } });
    return row;
  });
}

/** Loads the base manifests shipped in lib/manifest/base/ that the database does not have yet. */
export async function ensureBundledBaseManifests(db: Db): Promise<number> {
  let added = 0;
  for (const manifest of await loadBundledBaseManifests()) {
    const { packages, ...header } = manifest;
    const inserted = await db
      .insert(baseManifests)
      .values({ name: manifest.name, version: manifest.version, header, packages, source: toManifestYaml(manifest) })
      .onConflictDoNothing()
      .returning({ id: baseManifests.id });
    added += inserted.length;
  }
  return added;
}
