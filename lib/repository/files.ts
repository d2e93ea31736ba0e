// The file index of artefacts in PostgreSQL: written once per artefact when the builder records it, read in pages.
import { sql } from "drizzle-orm";
import type { DbOrTx } from "../db";
import type { ArtefactFile } from "../builder/extract/filter";

/** Rows per statement: one JSON parameter each, so 50,000 files are a handful of round trips. */
const BATCH = 5_000;

/**
 * Inserts the entries of one artefact. A tar may name a path twice (the later entry wins when unpacked); the index
 * keeps the last one.
 */
export async function recordArtefactFiles(db: DbOrTx, digest: string, files: readonly ArtefactFile[]): Promise<void> {
  const byPath = new Map<string, ArtefactFile>();
  for (const f of files) byPath.set(f.path, f);
  const rows = [...byPath.values()].map((f) => ({ path: f.path, type: f.type, size: f.size, mode: f.mode, target: f.target ?? null, sha256: f.sha256 ?? null }));
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = JSON.stringify(rows.slice(i, i + BATCH));
    await db.execute(sql`
      insert into artefact_files (artefact_digest, path, type, size, mode, target, sha256)
      select ${digest}, f.path, f.type, f.size, f.mode, f.target, f.sha256
      from jsonb_to_recordset(${batch}::jsonb) as f(path text, type text, size bigint, mode integer, target text, sha256 text)
      on conflict do nothing`);
  }
}
