// How a rebuilt package's artefact differs from the one the cache held for its key, from the two file indexes in SQL.
import { sql } from "drizzle-orm";
import type { DbOrTx } from "../db";
import type { ArtefactChanges } from "../db/schema";
import type { ArtefactStore } from "./artefact-store";

/** How many paths of each kind (real changes, logs and caches) the summary lists. */
export const CHANGED_PATHS_SHOWN = 20;

/**
 * Paths that differ when an unchanged step is rebuilt. Measured (from-scratch.int.test.ts, STRATA_TEST_APT=1):
 * rebuilding `apt-get update; apt-get install htop` changed exactly /var/log/{dpkg.log,apt/history.log,apt/term.log},
 * /var/cache/apt/{pkgcache,srcpkgcache}.bin and /var/cache/ldconfig/aux-cache, and an `apt-get upgrade` with nothing
 * to upgrade only the two pkgcache files; everything else (dpkg status, ld.so.cache, the installed files) came out
 * equal. The rest of the list did not change there but is of the same kind: apt lists (the mirror's state, not the
 * system's), dpkg locks, the linker cache, the "-old" and "-" backups dpkg, debconf and shadow write, Python byte
 * code. They are counted apart, so a page can say "no changes except logs and caches". (A POSIX regular expression, for PostgreSQL.)
 */
export const VOLATILE_PATHS = [
  "^/var/log/",
  "^/var/cache/",
  "^/var/lib/apt/lists/",
  "^/var/lib/dpkg/(lock|lock-frontend|triggers/Lock)$",
  "^/etc/ld\\.so\\.cache$",
  "-old$",
  "^/etc/(passwd|group|shadow|gshadow|subuid|subgid)-$",
  "\\.pyc$",
].join("|");

/**
 * Compares the file lists of two recorded artefacts (path, type, mode, size, content digest, link target; not mtimes)
 * and their deletions (a whiteout counts as an entry of its own type). Equal digests are identical without a look.
 */
export async function compareArtefacts(db: DbOrTx, previousDigest: string, digest: string): Promise<ArtefactChanges> {
  if (previousDigest === digest) return { identical: true, added: 0, removed: 0, changed: 0, paths: [], volatile: 0, volatilePaths: [] };
  const entries = (d: string) => sql`
    select path, type, mode, size, sha256, target from artefact_files where artefact_digest = ${d}
    union all
    select deleted.path, 'whiteout', 0, 0, null, null from artefacts, jsonb_array_elements_text(artefacts.deleted) as deleted(path) where artefacts.digest = ${d}`;
  const { rows } = await db.execute<{ path: string; change: "added" | "removed" | "changed"; volatile: boolean; rank: number; total: number }>(sql`
    with before as (${entries(previousDigest)}),
         after as (${entries(digest)}),
         diff as (
           select coalesce(a.path, b.path) as path,
                  case when b.path is null then 'added' when a.path is null then 'removed' else 'changed' end as change
           from before b full join after a on a.path = b.path
           where b.path is null or a.path is null
              or (b.type, b.mode, b.size, b.target) is distinct from (a.type, a.mode, a.size, a.target)
              -- Artefacts recorded before content digests were have none: their size must do.
              or b.sha256 <> a.sha256
         ),
         classified as (select path, change, path ~ ${VOLATILE_PATHS} as volatile from diff),
         ranked as (
           select path, change, volatile,
                  row_number() over (partition by volatile order by path)::int as rank,
                  row_number() over (partition by volatile, change order by path)::int as group_rank,
                  count(*) over (partition by volatile, change)::int as total
           from classified
         )
    -- Each (volatile, change) group keeps its first row too, so its total is known past the listed paths.
    select path, change, volatile, rank, total from ranked
    where rank <= ${CHANGED_PATHS_SHOWN} or group_rank = 1
    order by volatile, path`);
  const total = (volatile: boolean, change: string) => rows.find((r) => r.volatile === volatile && r.change === change)?.total ?? 0;
  const shown = (volatile: boolean) => rows.filter((r) => r.volatile === volatile && r.rank <= CHANGED_PATHS_SHOWN);
  return {
    identical: false,
    added: total(false, "added"),
    removed: total(false, "removed"),
    changed: total(false, "changed"),
    paths: shown(false).map((r) => ({ path: r.path, change: r.change })),
    volatile: total(true, "added") + total(true, "removed") + total(true, "changed"),
    volatilePaths: shown(true).map((r) => r.path),
  };
}

/**
 * The artefact the cache held for each key before a from-scratch build replaces it (null where it held none): the
 * artefact store's index (what a cached build would have used), else the key's latest recorded artefact. Only
 * artefacts whose file list is recorded count, since that is what the comparison reads.
 */
export async function previousArtefacts(db: DbOrTx, store: ArtefactStore, keys: readonly string[], buildId: string): Promise<(string | null)[]> {
  if (keys.length === 0) return [];
  const { rows } = await db.execute<{ cache_key: string; artefact_digest: string }>(sql`
    select distinct on (cache_key) cache_key, artefact_digest from build_packages
    where cache_key = any(${sql.param([...keys])}) and artefact_digest is not null and build_id <> ${buildId}
    order by cache_key, finished_at desc nulls last`);
  const latest = new Map(rows.map((r) => [r.cache_key, r.artefact_digest]));
  const indexed = keys.map((key) => store.loadIndex<{ digest?: string }>(key)?.digest ?? null);
  const candidates = [...new Set(indexed.filter((d): d is string => d !== null))];
  const { rows: known } = candidates.length
    ? await db.execute<{ digest: string }>(sql`select digest from artefacts where digest = any(${sql.param(candidates)})`)
    : { rows: [] };
  const recorded = new Set(known.map((r) => r.digest));
  return keys.map((key, i) => (indexed[i] && recorded.has(indexed[i]) ? indexed[i] : (latest.get(key) ?? null)));
}
