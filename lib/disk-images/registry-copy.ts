// A disk image file read back from the registry's copy (its artifact's zstd-compressed layer), for a node that does not
// have the file in its store: the blob streams through Debian's `zstd -d`.
import { spawn } from "node:child_process";
import { PassThrough, type Readable } from "node:stream";
import type { DiskImageFile } from "../db/schema";
import { UnavailableError } from "../errors";
import type { RegistryClient } from "../registry/client";

/** The uncompressed bytes of `file` from the registry repository `repo`. */
export async function openFromRegistry(registry: RegistryClient, repo: string, file: DiskImageFile): Promise<Readable> {
  if (!file.blob) throw new UnavailableError("This disk image is not in the registry yet (it is being published); try again in a minute.");
  const blob = await registry.openBlob(repo, file.blob.digest);
  const zstd = spawn("zstd", ["-d", "-c", "-q"], { stdio: ["pipe", "pipe", "pipe"] });
  const out = new PassThrough();
  let stderr = "";
  zstd.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  zstd.on("error", (err) => {
    blob.destroy();
    out.destroy(
      (err as NodeJS.ErrnoException).code === "ENOENT"
        ? new UnavailableError("This server needs zstd (Debian's zstd package) to serve disk images from the registry.")
        : err,
    );
  });
  zstd.on("close", (code) => {
    if (code !== 0 && code !== null) out.destroy(new Error(`zstd -d exited with ${code}: ${stderr.trim()}`));
  });
  blob.on("error", (err) => {
    zstd.kill();
    out.destroy(err);
  });
  // The reader leaving early (a range that ends) stops the decompression and the transfer.
  out.on("close", () => {
    zstd.kill();
    blob.destroy();
  });
  blob.pipe(zstd.stdin);
  zstd.stdin.on("error", () => {});
  zstd.stdout.pipe(out);
  return out;
}
