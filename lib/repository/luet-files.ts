// The two files luet fetches after a revision's repository.yaml (tree.tar.gz, repository.meta.yaml.tar) and their
// sha256, which repository.yaml lists: one helper, so the three routes cannot disagree about a byte.
import { createHash } from "node:crypto";
import type { DbOrTx } from "../db";
import { luetMetaTar, luetTreeTar } from "./luet";
import { listAllPackagePaths } from "./queries";
import type { RepositoryIndex } from "./types";

export interface LuetRepositoryFiles {
  tree: Buffer;
  meta: Buffer;
  /** sha256 (hex) of each, as repository.yaml lists them. */
  checksums: { tree: string; meta: string };
}

/**
 * One `luet repo update` asks for repository.yaml, tree.tar.gz and repository.meta.yaml.tar in turn, and each needs
 * both files (repository.yaml for their checksums); they derive from immutable data only, so the last few revisions'
 * files are kept, by index digest, instead of reading every file list three times.
 */
const recent = new Map<string, Promise<LuetRepositoryFiles>>();
const RECENT_REVISIONS = 8;

/** The luet files of a revision the caller has already authorised (see getRepositoryIndex). */
export function luetRepositoryFiles(db: DbOrTx, revision: { digest: string; index: RepositoryIndex }): Promise<LuetRepositoryFiles> {
  const known = recent.get(revision.digest);
  if (known) {
    recent.delete(revision.digest);
    recent.set(revision.digest, known);
    return known;
  }
  const files = buildFiles(db, revision.index);
  recent.set(revision.digest, files);
  // A failed read is not remembered: the next request tries again.
  files.catch(() => recent.get(revision.digest) === files && recent.delete(revision.digest));
  while (recent.size > RECENT_REVISIONS) recent.delete(recent.keys().next().value!);
  return files;
}

async function buildFiles(db: DbOrTx, index: RepositoryIndex): Promise<LuetRepositoryFiles> {
  const digests = [...new Set(index.packages.map((p) => p.artefact.digest))];
  const filesByDigest = new Map<string, string[]>();
  for (const digest of digests) filesByDigest.set(digest, await listAllPackagePaths(db, digest));
  const [tree, meta] = await Promise.all([luetTreeTar(index), luetMetaTar(index, filesByDigest)]);
  const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
  return { tree, meta, checksums: { tree: sha256(tree), meta: sha256(meta) } };
}
