// Extracts the artefact of one package: the layer its commit added, streamed out of the engine, filtered, repacked, compressed and stored by digest.
//
// Three honest sources for that layer, all streaming (no copy of the image on our disk):
// - "registry" (the default in builds): the layer's blob in the registry, which the shared cache pushed anyway;
//   only that layer's bytes travel, gunzipped and checked against the image's diffID.
// - "save" (the fallback, and the default outside builds): `docker save` (GET /images/{id}/get) streams every layer of the image; the outer tar
//   is parsed with tar-stream, every layer but the wanted one is skipped as a stream, and the
//   wanted one is verified against the image's diffID while it is processed. Works with any engine,
//   local or remote, without privileges; the engine itself reads the whole image.
// - "upperdir" (opt-in, STRATA_EXTRACT_OVERLAY=1): on a local overlay2 engine the committed layer is a plain directory
//   (GraphDriver.Data.UpperDir). Reading it directly costs only that layer's bytes. Overlay keeps
//   deletions as 0/0 character devices and opaque directories as a trusted.overlay.opaque xattr;
//   Node cannot read xattrs, so `getfattr` (Debian package `attr`) lists the opaque ones. It reads
//   the engine's data root directly, so it needs root and a local engine; it checks the storage
//   driver first and falls back to "save" when anything is off.
// All feed the same filter and repacker, so they produce the same bytes and digest.
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import type { Readable } from "node:stream";
import type Dockerode from "dockerode";
import { silentLogger, type Logger } from "../../log";
import { engineCall, inspectImage } from "../engine/images";
import { ArtefactFilterError, type Artefact, type ExtractionMethod } from "./filter";
import { ArtefactEntriesLimitError, repackLayer, type RepackOptions } from "./repack";
import { registryLayerEntries, savedLayerEntries, upperDirEntries } from "./sources";
import type { RegistryClient } from "../../registry/client";

export * from "./filter";
export * from "./repack";
export * from "./sources";
export * from "./compress";

// ---------------------------------------------------------------------------------------------

/** Docker facts that decide whether the upper directory can be read directly; cached per client. */
const upperDirSupport = new WeakMap<Dockerode, Promise<boolean>>();

function engineSupportsUpperDir(docker: Dockerode): Promise<boolean> {
  let known = upperDirSupport.get(docker);
  if (!known) {
    known = (async () => {
      // Only an engine on a local socket shares our filesystem; reading trusted.* xattrs needs root.
      const socketPath = (docker.modem as { socketPath?: string }).socketPath;
      if (!socketPath || process.getuid?.() !== 0) return false;
      const info = (await docker.info()) as { Driver?: string; DriverStatus?: [string, string][] };
      const status = new Map(info.DriverStatus ?? []);
      // Without native diff (redirect_dir on) or with userxattr, the upper dir is not a plain layer.
      if (info.Driver !== "overlay2" || status.get("Native Overlay Diff") !== "true" || status.get("userxattr") === "true") {
        return false;
      }
      const probe = spawn("getfattr", ["--version"], { stdio: "ignore" });
      const [code] = (await once(probe, "close").catch(() => [1])) as [number | null];
      return code === 0;
    })().catch(() => false);
    upperDirSupport.set(docker, known);
  }
  return known;
}

export interface ExtractOptions extends RepackOptions {
  imageId: string;
  /** The image the package was built on; when the commit added no layer, the artefact is empty. */
  parentImageId: string | null;
  /** "save" (default): the engine's save stream. "auto": upperdir when the engine allows it, else save. */
  method?: "auto" | "upperdir" | "save";
  /**
   * Where the image is in the registry (the shared cache pushed it): the layer is then read from there, only its
   * own bytes, instead of the engine's save stream, which writes out the whole image first. Falls back to the
   * save stream when the registry does not hold that exact layer.
   */
  registry?: { client: RegistryClient; repository: string; tag: string };
  log?: Logger;
}

/** Failures of the layer itself, not of its source: another source would read the same entries and fail the same way. */
const isLayerRefused = (err: unknown) => err instanceof ArtefactEntriesLimitError || err instanceof ArtefactFilterError;

/** Extracts the layer `imageId` added on top of `parentImageId` into the artefact store. */
export async function extractArtefact(docker: Dockerode, opts: ExtractOptions): Promise<Artefact & { method: ExtractionMethod }> {
  const log = opts.log ?? silentLogger;
  const image = await inspectImage(docker, opts.imageId, log);
  if (!image) throw new Error(`extract: the engine has no image ${opts.imageId}`);
  const layers = image.RootFS?.Layers ?? [];
  const parentLayers = opts.parentImageId ? ((await inspectImage(docker, opts.parentImageId, log))?.RootFS?.Layers ?? []) : [];
  const started = Date.now();

  // Docker's commit adds no layer when the container changed nothing.
  if (layers.length === parentLayers.length) {
    return { ...(await repackLayer((async function* () {})(), opts)), method: "empty" };
  }
  if (layers.length !== parentLayers.length + 1) {
    throw new Error(`extract: ${opts.imageId} has ${layers.length} layers, expected one more than its parent's ${parentLayers.length}`);
  }
  const diffId = layers[layers.length - 1];

  const want = opts.method ?? "save";
  const upper = (image.GraphDriver?.Data as { UpperDir?: string } | undefined)?.UpperDir;
  if (want === "upperdir" || (want === "auto" && upper && (await engineSupportsUpperDir(docker)) && fs.existsSync(upper))) {
    if (!upper || !fs.existsSync(upper)) throw new Error(`extract: no readable overlay2 upper directory for ${opts.imageId}`);
    log.debug("extract: reading overlay upper directory", { imageId: opts.imageId, upper });
    try {
      const artefact = await repackLayer(upperDirEntries(upper, opts.signal), opts);
      log.debug("extract: done", { imageId: opts.imageId, method: "upperdir", ms: Date.now() - started });
      return { ...artefact, method: "upperdir" };
    } catch (err) {
      // The fast path is an optimisation: in "auto", anything odd there falls back to the save stream.
      if (want !== "auto" || opts.signal?.aborted || isLayerRefused(err)) throw err;
      log.warn("extract: overlay fast path failed, using docker save", { imageId: opts.imageId, error: (err as Error).message });
    }
  }

  if (opts.registry && want === "save") {
    const { client, repository, tag } = opts.registry;
    try {
      const manifest = (await client.getManifest(repository, tag)).manifest as { layers?: { digest: string }[] };
      const top = manifest.layers?.length === layers.length ? manifest.layers[layers.length - 1] : undefined;
      if (top) {
        const artefact = await repackLayer(registryLayerEntries(await client.openBlob(repository, top.digest), diffId), opts);
        log.debug("extract: done", { imageId: opts.imageId, method: "registry", ms: Date.now() - started });
        return { ...artefact, method: "registry" };
      }
      log.warn("extract: the registry's image has other layers, using docker save", { imageId: opts.imageId, tag });
    } catch (err) {
      if (opts.signal?.aborted || isLayerRefused(err)) throw err;
      log.warn("extract: reading the layer from the registry failed, using docker save", { imageId: opts.imageId, error: (err as Error).message });
    }
  }

  const save = (await engineCall(log, "save image", opts.imageId, () =>
    docker.getImage(opts.imageId).get(),
  )) as unknown as Readable;
  // A cancel stops the read at once, also while the layers before ours stream past unread.
  const stopSave = () => save.destroy(new Error("extraction stopped: the build was cancelled"));
  if (opts.signal?.aborted) stopSave();
  opts.signal?.addEventListener("abort", stopSave, { once: true });
  try {
    const artefact = await repackLayer(savedLayerEntries(save, diffId), opts);
    log.debug("extract: done", { imageId: opts.imageId, method: "save", ms: Date.now() - started });
    return { ...artefact, method: "save" };
  } finally {
    opts.signal?.removeEventListener("abort", stopSave);
    // Stop the engine streaming the remaining layers once ours is done (or on failure).
    save.destroy();
  }
}
