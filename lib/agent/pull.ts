// Pulls an image by digest from its registry (OCI distribution API) into a slot: manifest, config and every layer verified.
import { createGunzip } from "node:zlib";
import { RegistryClient, parseRegistry, type FetchedManifest, type RegistryCredentials } from "../registry";
import type { RegistryMirrors } from "./mirror";
import { formatImageReference, parseImageReference, type ImageReference } from "./reference";
import { SlotUnpacker, type UnpackStats } from "./unpack";

const INDEX_TYPES = ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
const IMAGE_MANIFEST_TYPES = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];

/** The platform a device runs: Strata builds amd64 images, so that is the one picked from a multi-platform index. */
export const DEVICE_PLATFORM = { os: "linux", architecture: "amd64" } as const;

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string };
}

export interface PullOptions {
  /** The image reference from the channel document. */
  image: string;
  /** The digest the document names, when it names one: the manifest must have it. */
  digest: string | null;
  /** The (empty) passive slot directory. */
  slot: string;
  credentials: RegistryCredentials | null;
  /** Registries to reach at another address (--registry-mirror). */
  mirrors?: RegistryMirrors;
  /** Keep the layers' owners (needs root). */
  chown: boolean;
  log: (line: string) => void;
}

export interface PulledImage {
  /** The digest the reference resolved to (an index's, for a multi-platform image). */
  digest: string;
  /** The image manifest's own digest (the platform's entry of an index, or the same as `digest`). */
  manifestDigest: string;
  layers: number;
  stats: UnpackStats;
}

export function registryClientFor(ref: ImageReference, credentials: RegistryCredentials | null, mirrors?: RegistryMirrors): RegistryClient {
  // A mirror replaces the whole endpoint, so errors name the address actually tried. Blobs and manifests are
  // still checked against the digests the signed document names, so a mirror cannot serve other content.
  const mirror = mirrors?.get(ref.registry);
  // Credentials are always passed (null for anonymous): the registry client would otherwise look for
  // the portal's REGISTRY_* variables and a docker config, which a device has no business reading.
  return new RegistryClient(parseRegistry(mirror ?? ref.registry), { credentials });
}

/** The digest a reference points at now: its own digest, or what the registry says its tag is (a pinned tag). */
export async function resolveDigest(image: string, credentials: RegistryCredentials | null, mirrors?: RegistryMirrors): Promise<string> {
  const ref = parseImageReference(image);
  if (ref.digest) return ref.digest;
  const found = await registryClientFor(ref, credentials, mirrors).headManifest(ref.repository, ref.tag!);
  if (!found) throw new Error(`the registry has no image ${image}`);
  return found.digest;
}

export async function pullImage(opts: PullOptions): Promise<PulledImage> {
  const ref = parseImageReference(opts.image);
  if (ref.digest && opts.digest && ref.digest !== opts.digest) {
    throw new Error(`the target image ${opts.image} and the target digest ${opts.digest} disagree`);
  }
  const client = registryClientFor(ref, opts.credentials, opts.mirrors);
  const wanted = opts.digest ?? ref.digest ?? ref.tag!;
  const name = formatImageReference({ ...ref, tag: null, digest: null });

  // getManifest checks the bytes against a digest reference, so from here on everything hangs off verified bytes.
  const top = await client.getManifest(ref.repository, wanted);
  let manifest: FetchedManifest = top;
  const index = top.manifest as { manifests?: unknown } | null;
  if (INDEX_TYPES.includes(top.mediaType) || Array.isArray(index?.manifests)) {
    const entry = pickPlatform(index?.manifests as Descriptor[], `${name}@${top.digest}`);
    manifest = await client.getManifest(ref.repository, entry.digest);
  }
  if (!IMAGE_MANIFEST_TYPES.includes(manifest.mediaType)) {
    throw new Error(`${name}@${manifest.digest} is a ${manifest.mediaType || "manifest without a media type"}, not an image manifest`);
  }
  const image = manifest.manifest as { config?: Descriptor; layers?: Descriptor[] } | null;
  const config = image?.config;
  const layers = image?.layers ?? [];
  if (!config?.digest) throw new Error(`the image manifest ${name}@${manifest.digest} names no config`);
  if (!Array.isArray(layers) || layers.length === 0) throw new Error(`the image manifest ${name}@${manifest.digest} has no layers`);
  // Refuses zstd and unknown layer types before anything is downloaded or written.
  const compressions = layers.map((layer, i) => compressionOf(layer.mediaType, i, layers.length));

  // The config's bytes are checked against its digest (getBlob verifies); its content is not needed to unpack.
  await client.getBlob(ref.repository, config.digest);

  const size = layers.reduce((sum, layer) => sum + (layer.size ?? 0), 0);
  opts.log(`pulling ${name}@${top.digest} (${layers.length} layer${layers.length === 1 ? "" : "s"}, ${formatBytes(size)})`);
  const unpacker = new SlotUnpacker(opts.slot, { chown: opts.chown });
  for (const [i, layer] of layers.entries()) {
    const which = `layer ${i + 1} of ${layers.length} (${layer.digest})`;
    try {
      // openBlob hashes the bytes as they stream and fails at the end unless they are the layer's digest.
      const blob = await client.openBlob(ref.repository, layer.digest);
      await unpacker.applyLayer(blob, compressions[i] === "gzip" ? createGunzip() : null);
    } catch (err) {
      throw new Error(`${which}: ${(err as Error).message}`, { cause: err });
    }
    opts.log(`unpacked ${which}`);
  }
  await unpacker.finish();
  if (unpacker.stats.skippedSpecial > 0) {
    opts.log(`skipped ${unpacker.stats.skippedSpecial} device file(s) and fifo(s): the booted system's devtmpfs provides devices`);
  }
  return { digest: top.digest, manifestDigest: manifest.digest, layers: layers.length, stats: unpacker.stats };
}

function pickPlatform(entries: Descriptor[], index: string): Descriptor {
  const found = (entries ?? []).find((e) => e.platform?.os === DEVICE_PLATFORM.os && e.platform?.architecture === DEVICE_PLATFORM.architecture);
  if (found) return found;
  const offered = (entries ?? []).map((e) => `${e.platform?.os ?? "?"}/${e.platform?.architecture ?? "?"}`).join(", ");
  throw new Error(`the image index ${index} has no ${DEVICE_PLATFORM.os}/${DEVICE_PLATFORM.architecture} image (it has ${offered || "none"})`);
}

/** How a layer is compressed: gzip or not at all, the two Node 18's zlib can undo (zstd came to node:zlib in Node 22). */
function compressionOf(mediaType: string | undefined, i: number, count: number): "gzip" | "none" {
  const type = mediaType ?? "";
  if (/zstd/.test(type)) {
    throw new Error(`layer ${i + 1} of ${count} is zstd-compressed (${type}), which this agent cannot unpack; push the image with gzip layers`);
  }
  if (/[.+]gzip$/.test(type)) return "gzip";
  if (/[.+]tar$/.test(type)) return "none";
  throw new Error(`layer ${i + 1} of ${count} has the media type "${type}", which is not a tar layer`);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
