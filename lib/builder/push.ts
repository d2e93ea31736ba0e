// Labels the final image of a build, pushes it to the registry and verifies the pushed manifest through the registry's HTTP API.
import type Dockerode from "dockerode";
import {
  assertRegistryReachable,
  parseRegistry,
  RegistryUnavailableError,
  type RegistryEndpoint,
} from "../registry/endpoint";
import { silentLogger, type Logger } from "../log";
import { commitContainer, removeContainer } from "./engine/containers";
import { engineCall, inspectImage, LABEL, removeImage } from "./engine/images";
import { EngineStreamError, followProgress } from "./engine/streams";

export { RegistryUnavailableError };

export interface PushOptions {
  /** "127.0.0.1:5000" (as in image references) or an endpoint from ensureRegistry. */
  registry: string | RegistryEndpoint;
  /** "<org>/<flavour>". */
  repository: string;
  tag: string;
  /** Labels the pushed image carries (flavour, version, build id, base manifest version...). */
  labels?: Record<string, string>;
  /** Keep the labelled local image after the push (default: remove it; the registry holds it). */
  keepLocal?: boolean;
  log?: Logger;
}

export interface PushResult {
  /** "<registry>/<repository>:<tag>". */
  reference: string;
  /** "sha256:..." of the manifest, as the registry reports it. */
  digest: string;
  /** Sum of the (compressed) layer sizes in the manifest: what a device downloads. */
  size: number;
}

const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

/**
 * Docker cannot add labels to an existing image. We commit a never-started container of the final
 * image with the image's own config plus the labels: Docker adds no layer for an unchanged
 * container, so the pushed image has exactly the package layers, and it takes a fraction of the
 * time of a label-only `docker build` (measured: ~0.2 s vs ~0.7 s). Inherited builder labels
 * (cache key, package) are blanked: they describe a cache entry, not the release.
 */
async function labelledImage(
  docker: Dockerode,
  imageId: string,
  target: { repo: string; tag: string },
  labels: Record<string, string>,
  log: Logger,
): Promise<string> {
  const image = await inspectImage(docker, imageId, log);
  if (!image) throw new Error(`push: the engine has no image ${imageId}`);
  const imageConfig = (image.Config ?? {}) as unknown as Record<string, unknown> & { Cmd?: string[] | null; Entrypoint?: string[] | null };
  const allLabels = {
    ...((imageConfig.Labels as Record<string, string> | null) ?? {}),
    [LABEL.cacheKey]: "",
    [LABEL.package]: "",
    ...labels,
    [LABEL.managed]: "1",
    [LABEL.role]: "publish",
  };
  const runnable = (imageConfig.Cmd?.length ?? 0) > 0 || (imageConfig.Entrypoint?.length ?? 0) > 0;
  const container = await engineCall(log, "create container", `from ${imageId} for labels`, () =>
    docker.createContainer({
      Image: imageId,
      // The engine refuses a container without a command; it never runs, and the commit's config wins.
      ...(runnable ? {} : { Cmd: ["/bin/sh"] }),
      Labels: { [LABEL.managed]: "1", [LABEL.role]: "publish", [LABEL.build]: labels[LABEL.build] ?? "" },
    }),
  );
  try {
    return await commitContainer(container, { repo: target.repo, tag: target.tag, config: { ...imageConfig, Labels: allLabels } }, log);
  } finally {
    await removeContainer(container, log).catch(() => {});
  }
}

/** Reads the pushed manifest back from the registry: its digest and the sum of its layer sizes. */
async function fetchManifest(endpoint: RegistryEndpoint, repository: string, tag: string): Promise<{ digest: string; size: number }> {
  let res: Response;
  try {
    res = await fetch(`${endpoint.apiBase}/v2/${repository}/manifests/${encodeURIComponent(tag)}`, {
      headers: { Accept: MANIFEST_TYPES },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    throw new RegistryUnavailableError(endpoint.url, e.cause?.code ?? e.message);
  }
  if (res.status >= 500) throw new RegistryUnavailableError(endpoint.url, `GET manifest answered HTTP ${res.status}`);
  if (!res.ok) {
    throw new Error(
      `The registry ${endpoint.url} answered HTTP ${res.status} for ${repository}:${tag} right after the push` +
        (res.status === 401 ? " (it requires authentication for reads, which verification does not support yet)" : ""),
    );
  }
  const digest = res.headers.get("docker-content-digest");
  const manifest = (await res.json()) as { layers?: { size: number }[] };
  if (!digest) throw new Error(`The registry ${endpoint.url} sent no Docker-Content-Digest for ${repository}:${tag}`);
  return { digest, size: (manifest.layers ?? []).reduce((sum, layer) => sum + layer.size, 0) };
}

/** Tags `imageId` as `<registry>/<repository>:<tag>` with `labels`, pushes it, and verifies the registry has it. */
export async function tagAndPush(docker: Dockerode, imageId: string, opts: PushOptions): Promise<PushResult> {
  const log = opts.log ?? silentLogger;
  const endpoint = typeof opts.registry === "string" ? parseRegistry(opts.registry) : opts.registry;
  const repoRef = `${endpoint.url}/${opts.repository}`;
  const reference = `${repoRef}:${opts.tag}`;

  // Docker retries an unreachable registry for minutes; say so at once instead.
  await assertRegistryReachable(endpoint);
  await labelledImage(docker, imageId, { repo: repoRef, tag: opts.tag }, opts.labels ?? {}, log);
  try {
    let pushed: string | undefined;
    try {
      const stream = (await engineCall(log, "push image", reference, () =>
        docker.getImage(repoRef).push({ tag: opts.tag, authconfig: {} } as Record<string, unknown>),
      )) as NodeJS.ReadableStream;
      const messages = await followProgress(stream);
      pushed = messages.map((m) => m.aux?.Digest).find((d): d is string => typeof d === "string");
    } catch (err) {
      // Transport failures and 5xx answers are the registry's trouble (retryable), not the image's.
      if (err instanceof EngineStreamError && /connection refused|no such host|i\/o timeout|dial tcp|unexpected HTTP status: 5\d\d/i.test(err.message)) {
        throw new RegistryUnavailableError(endpoint.url, err.message);
      }
      throw err;
    }
    const manifest = await fetchManifest(endpoint, opts.repository, opts.tag);
    if (pushed && pushed !== manifest.digest) {
      throw new Error(`The registry reports ${manifest.digest} for ${reference}, but the push reported ${pushed} (another push raced this one?)`);
    }
    log.info("pushed image", { reference, digest: manifest.digest, size: manifest.size });
    return { reference, digest: manifest.digest, size: manifest.size };
  } finally {
    if (!opts.keepLocal) await removeImage(docker, reference, log).catch(() => {});
  }
}
