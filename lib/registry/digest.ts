// Content digests ("sha256:<hex>") as OCI defines them: checking their form and computing them.
import { createHash, type Hash } from "node:crypto";

const HEX_LENGTH: Record<string, number> = { sha256: 64, sha512: 128 };

/** True for a digest this client can verify: sha256 or sha512 with the right number of hex digits. */
export function isDigest(value: string): boolean {
  const m = /^(sha256|sha512):([0-9a-f]+)$/.exec(value);
  return !!m && m[2].length === HEX_LENGTH[m[1]];
}

/** Throws unless `value` is a digest we can verify; the digest then goes into URLs unescaped. */
export function assertDigest(value: string, what = "digest"): void {
  if (!isDigest(value)) throw new Error(`Not a sha256/sha512 ${what}: "${value}"`);
}

/** A hash for the algorithm of `digest` ("sha256" when none is given). */
export function hasherFor(digest?: string): { hash: Hash; finish: () => string } {
  const algorithm = digest?.split(":")[0] ?? "sha256";
  const hash = createHash(algorithm);
  return { hash, finish: () => `${algorithm}:${hash.digest("hex")}` };
}

/** The digest of `bytes`, in the algorithm of `like` (sha256 by default). */
export function digestOf(bytes: Uint8Array, like?: string): string {
  const { hash, finish } = hasherFor(like);
  hash.update(bytes);
  return finish();
}
