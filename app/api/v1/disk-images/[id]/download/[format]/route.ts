import { Readable } from "node:stream";
import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/disk-images";
import { config, dataDir } from "@/lib/config";
import { getDiskImageFile } from "@/lib/disk-images/disk-images";
import { serveDiskImageFile } from "@/lib/disk-images/serve";
import { diskImageStorePath } from "@/lib/disk-images/store";
import { openFromRegistry } from "@/lib/disk-images/registry-copy";
import { parseImageReference } from "@/lib/agent/reference";
import { NotFoundError } from "@/lib/errors";
import { RegistryClient, RegistryNotFoundError } from "@/lib/registry";

let registry: RegistryClient | null = null;

/** A made file (raw or qcow2), streamed with ETag (its digest), Range (206/416) and its sha256; from this node's store, else the registry's zstd-compressed copy. */
const handler = withApi(routes.downloadDiskImage, async ({ req, db, actor, params }) => {
  const { diskImage, file, filename } = await getDiskImageFile(db, actor, params.id, params.format);
  const artifactRef = diskImage.artifactRef;
  const openRemote = artifactRef
    ? async () => {
        registry ??= new RegistryClient(config.registryUrl);
        // The reference names the registry as devices reach it; the server reads the same repository at config.registryUrl.
        const { repository } = parseImageReference(artifactRef);
        try {
          return await openFromRegistry(registry, repository, file);
        } catch (err) {
          if (err instanceof RegistryNotFoundError) throw new NotFoundError(`The ${params.format} file is gone from the registry (${artifactRef}); ask for a new disk image.`);
          throw err;
        }
      }
    : undefined;
  const served = await serveDiskImageFile(req, { digest: file.digest, size: file.size, filename }, { localPath: diskImageStorePath(dataDir(), file.digest), openRemote });
  if (served.error) return Response.json({ error: served.error }, { status: served.status, headers: served.headers });
  return new Response(served.stream ? (Readable.toWeb(served.stream) as ReadableStream) : null, { status: served.status, headers: served.headers });
});

export const GET = handler;
export const HEAD = handler;
