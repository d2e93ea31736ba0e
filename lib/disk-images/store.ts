// The node's local copy of disk image files, content-addressed: <data>/disk-images/sha256/<hex>.
// The registry holds every file too (an OCI artifact beside the build's image); this folder is a cache in front of it.
import path from "node:path";

const DIGEST = /^sha256:([a-f0-9]{64})$/;

export function diskImageStoreRoot(dataDir: string): string {
  return path.join(dataDir, "disk-images");
}

/** Where the file of `digest` lives on this node. Throws on anything but a sha256 digest, so no path is ever made from input. */
export function diskImageStorePath(dataDir: string, digest: string): string {
  const match = DIGEST.exec(digest);
  if (!match) throw new Error(`not a sha256 digest: ${digest}`);
  return path.join(diskImageStoreRoot(dataDir), "sha256", match[1]);
}
