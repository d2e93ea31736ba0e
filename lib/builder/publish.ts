// Publishes a build's OS image: the last package's image (already in the registry's shared cache) plus the builder's
// final layer, assembled in the registry under <org>/<flavour>:<version> with only meaningful labels, then verified.
//
// Nothing is pushed twice: the package layers are mounted from the cache repository (a metadata operation in the
// registry), only the final layer (a few kB) and the new config are uploaded. The image is never in the engine.
import { createHash } from "node:crypto";
import { silentLogger, type Logger } from "../log";
import type { RegistryClient } from "../registry/client";
import { BuildCancelledError } from "./errors";
import type { FinalLayer } from "./final-layer";

const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const LAYER_TYPE: Record<string, string> = {
  [DOCKER_MANIFEST]: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  [OCI_MANIFEST]: "application/vnd.oci.image.layer.v1.tar+gzip",
};

interface Descriptor {
  mediaType: string;
  size: number;
  digest: string;
  annotations?: Record<string, string>;
}

interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

interface ImageConfig {
  created?: string;
  config?: Record<string, unknown> & { Labels?: Record<string, string> | null };
  container?: string;
  container_config?: unknown;
  history?: Array<Record<string, unknown>>;
  rootfs: { type: "layers"; diff_ids: string[] };
  [key: string]: unknown;
}

export interface PublishOptions {
  registry: RegistryClient;
  /** Where the last package's image is: the shared cache repository and its tag (cache key, or the base's tag). */
  source: { repository: string; tag: string };
  /** "<org>/<flavour>". */
  repository: string;
  tag: string;
  finalLayer: FinalLayer;
  /** The image's labels, and the only ones: org.opencontainers.image.* and io.strata.*. */
  labels: Record<string, string>;
  created: Date;
  onProgress?: (detail: string) => void;
  log?: Logger;
  /** The build's signal: every registry request stops when it fires (a cancelled build does not wait for a slow registry). */
  signal?: AbortSignal;
}

export interface PublishedImage {
  /** "<registry>/<repository>:<tag>" as the workers reach the registry. */
  reference: string;
  /** "sha256:…" of the manifest. */
  digest: string;
  /** Sum of the compressed layer sizes: what a device downloads. */
  size: number;
}

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/**
 * The config of the published image: the last package's, with the final layer appended (diffID and history, so
 * `docker history` stays right) and nothing of the build machinery — no builder labels, no build container config
 * (`container_config` held the step driver's command line), no container hostname.
 */
export function publishedConfig(base: ImageConfig, layer: FinalLayer, labels: Record<string, string>, created: Date): ImageConfig {
  const { container: _container, container_config: _containerConfig, ...rest } = base;
  return {
    ...rest,
    created: created.toISOString(),
    config: { ...(base.config ?? {}), Hostname: "", Domainname: "", Labels: { ...labels } },
    rootfs: { type: "layers", diff_ids: [...base.rootfs.diff_ids, layer.diffId] },
    history: [
      ...(base.history ?? []),
      { created: created.toISOString(), created_by: "strata: final layer (version stamp, hostname, hosts, resolv.conf, machine-id)", comment: labels["io.strata.build"] ?? "" },
    ],
  };
}

export async function publishImage(opts: PublishOptions): Promise<PublishedImage> {
  const log = opts.log ?? silentLogger;
  const registry = opts.signal ? opts.registry.withSignal(opts.signal) : opts.registry;
  const say = (detail: string) => {
    // Between requests too: a cancel that lands between two of them stops before the next.
    if (opts.signal?.aborted) throw new BuildCancelledError();
    opts.onProgress?.(detail);
  };

  say("reading the last package's image from the shared cache");
  const source = await registry.getManifest(opts.source.repository, opts.source.tag);
  const manifest = source.manifest as ImageManifest;
  const mediaType = source.mediaType;
  if (!LAYER_TYPE[mediaType] || !Array.isArray(manifest.layers)) {
    throw new Error(`${opts.source.repository}:${opts.source.tag} is a ${mediaType}, not a single-platform image manifest`);
  }
  const config = JSON.parse((await registry.getBlob(opts.source.repository, manifest.config.digest)).toString("utf8")) as ImageConfig;
  if (config.rootfs?.diff_ids?.length !== manifest.layers.length) {
    throw new Error(`${opts.source.repository}:${opts.source.tag}: its config lists ${config.rootfs?.diff_ids?.length} layers, its manifest ${manifest.layers.length}`);
  }

  // The blobs go in at once: each is a round trip or two, and the registry takes them in any order.
  say(`linking ${manifest.layers.length} package layers into ${opts.repository} and uploading the final layer`);
  const configBytes = Buffer.from(JSON.stringify(publishedConfig(config, opts.finalLayer, opts.labels, opts.created)));
  const configDigest = sha256(configBytes);
  await Promise.all([
    ...manifest.layers.map((layer) => registry.copyBlob(opts.source.repository, opts.repository, layer.digest)),
    registry.putBlob(opts.repository, opts.finalLayer.digest, opts.finalLayer.blob),
    registry.putBlob(opts.repository, configDigest, configBytes),
  ]);

  const published: ImageManifest = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: manifest.config.mediaType, size: configBytes.length, digest: configDigest },
    layers: [...manifest.layers, { mediaType: LAYER_TYPE[mediaType], size: opts.finalLayer.blob.length, digest: opts.finalLayer.digest }],
  };
  const manifestBytes = Buffer.from(JSON.stringify(published));
  say(`writing ${opts.repository}:${opts.tag}`);
  const digest = await registry.putManifest(opts.repository, opts.tag, manifestBytes, mediaType);

  // Read it back as a client would: the tag must name exactly what we wrote.
  say("verifying the published image");
  const check = await registry.headManifest(opts.repository, opts.tag);
  if (!check || check.digest !== digest) {
    throw new Error(`The registry ${registry.endpoint.url} reports ${check?.digest ?? "nothing"} for ${opts.repository}:${opts.tag}, but ${digest} was written (another push raced this one?)`);
  }
  const size = published.layers.reduce((sum, l) => sum + l.size, 0);
  const reference = `${registry.endpoint.url}/${opts.repository}:${opts.tag}`;
  log.info("published image", { reference, digest, size });
  return { reference, digest, size };
}
