// The build cache shared through the registry: every package image is pushed as <registry>/<cache repo>:<cache key>,
// so a worker whose engine lacks a key pulls it instead of building it again. The engine-local tag strata-cache:<key>
// stays the fast path; the registry is what makes the cache scale past one engine.
import type { Readable } from "node:stream";
import type Dockerode from "dockerode";
import { silentLogger, type Logger } from "../log";
import type { RegistryClient } from "../registry/client";
import { RegistryUnavailableError } from "../registry/endpoint";
import { cacheTag, engineCall, inspectImage, LABEL, removeImage, splitRef, tagImage } from "./engine/images";
import { EngineStreamError, followProgress, type ProgressMessage } from "./engine/streams";
import { BuildCancelledError } from "./errors";

export interface SharedCache {
  registry: RegistryClient;
  /** Repository on the registry, e.g. "strata-cache". */
  repository: string;
  /** The build's signal: pulls and pushes through the engine stop when it fires (give `registry` the same, see withSignal). */
  signal?: AbortSignal;
}

/** The tag of a base image in the shared cache: the reference made safe for a tag (a-z0-9._-, ≤ 128). */
export const baseCacheTag = (ref: string) => `base-${ref.toLowerCase().replace(/[^a-z0-9._-]+/g, "-")}`.slice(0, 128);

const remoteName = (cache: SharedCache) => `${cache.registry.endpoint.url}/${cache.repository}`;

/** True when the registry holds the image of `tag`. */
export async function sharedHas(cache: SharedCache, tag: string): Promise<boolean> {
  return (await cache.registry.headManifest(cache.repository, tag)) !== null;
}

/** Messages of engine push/pull failures that mean the registry (not the image) is in trouble: retryable. */
const REGISTRY_DOWN = /connection refused|no such host|i\/o timeout|dial tcp|unexpected HTTP status: 5\d\d|server gave HTTP response|EOF/i;

/**
 * Reads an engine push or pull to its end. When `signal` fires the stream is destroyed: the request to the engine is
 * closed (which stops the engine's transfer) and the read ends at once instead of when the transfer would.
 */
async function follow(stream: NodeJS.ReadableStream, registry: string, onMessage?: (m: ProgressMessage) => void, signal?: AbortSignal) {
  const stop = () => (stream as Readable).destroy(new BuildCancelledError());
  if (signal?.aborted) stop();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    return await followProgress(stream, onMessage);
  } catch (err) {
    if (signal?.aborted) throw new BuildCancelledError();
    if (err instanceof EngineStreamError && REGISTRY_DOWN.test(err.message)) throw new RegistryUnavailableError(registry, err.message);
    throw err;
  } finally {
    signal?.removeEventListener("abort", stop);
  }
}

/** dockerode options for a request that closes when the build's signal fires (docker-modem passes it to http). */
const abortable = (cache: SharedCache) => (cache.signal ? { abortSignal: cache.signal } : {});

/**
 * Pulls the image of `tag` from the shared cache into the engine and tags it `localTag`. Returns its id, or null
 * when the registry does not have it. The image id is the digest of its config, so a pulled image has the same
 * id (and cache labels) as the one the other worker built.
 */
export async function pullShared(docker: Dockerode, cache: SharedCache, tag: string, localTag: string, log: Logger = silentLogger): Promise<string | null> {
  if (!(await sharedHas(cache, tag))) return null;
  if (cache.signal?.aborted) throw new BuildCancelledError();
  const remote = `${remoteName(cache)}:${tag}`;
  const stream = (await engineCall(log, "pull image", remote, () =>
    docker.pull(remote, { authconfig: cache.registry.engineAuth(), ...abortable(cache) } as Record<string, unknown>),
  )) as NodeJS.ReadableStream;
  await follow(stream, cache.registry.endpoint.url, undefined, cache.signal);
  const pulled = await inspectImage(docker, remote, log);
  if (!pulled) throw new Error(`pulling ${remote} reported success but the engine does not have it`);
  const [repo, localTagName] = splitRef(localTag);
  await tagImage(docker, pulled.Id, repo, localTagName, log);
  // The registry-named tag is not needed locally; the local tag is what lookups use.
  await removeImage(docker, remote, log).catch(() => {});
  return pulled.Id;
}

/** Pulls the package image of `key` (see pullShared) and checks it really is that key's image. */
export async function pullCachedPackage(docker: Dockerode, cache: SharedCache, key: string, log: Logger = silentLogger): Promise<string | null> {
  const id = await pullShared(docker, cache, key, cacheTag(key), log);
  if (!id) return null;
  const image = await inspectImage(docker, id, log);
  if (image?.Config?.Labels?.[LABEL.cacheKey] !== key) {
    await removeImage(docker, cacheTag(key), log).catch(() => {});
    throw new Error(`the shared cache's image for key ${key.slice(0, 12)}… carries another key; remove ${remoteName(cache)}:${key} from the registry`);
  }
  return id;
}

export interface PushProgress {
  /** What is being pushed, e.g. "system/kernel". */
  what: string;
  doneBytes: number;
  totalBytes: number;
}

/** Pushes `imageId` as <cache repo>:<tag> through the engine (layers the registry has are skipped). Returns the manifest digest. */
export async function pushShared(
  docker: Dockerode,
  cache: SharedCache,
  imageId: string,
  tag: string,
  opts: { log?: Logger; onProgress?: (done: number, total: number) => void } = {},
): Promise<string | undefined> {
  const log = opts.log ?? silentLogger;
  const repo = remoteName(cache);
  if (cache.signal?.aborted) throw new BuildCancelledError();
  await tagImage(docker, imageId, repo, tag, log);
  try {
    const stream = (await engineCall(log, "push image", `${repo}:${tag}`, () =>
      docker.getImage(repo).push({ tag, authconfig: cache.registry.engineAuth(), ...abortable(cache) } as Record<string, unknown>),
    )) as NodeJS.ReadableStream;
    // Per-layer progress: the engine reports current/total bytes of each layer it uploads.
    const layers = new Map<string, { current: number; total: number }>();
    const messages = await follow(stream, cache.registry.endpoint.url, (m) => {
      if (!m.id || !opts.onProgress) return;
      if (m.status === "Pushing" && m.progressDetail?.total) layers.set(m.id, { current: m.progressDetail.current ?? 0, total: m.progressDetail.total });
      else if (m.status === "Pushed" && layers.has(m.id)) layers.get(m.id)!.current = layers.get(m.id)!.total;
      let done = 0;
      let total = 0;
      for (const l of layers.values()) {
        done += l.current;
        total += l.total;
      }
      opts.onProgress(done, total);
    }, cache.signal);
    return messages.map((m) => m.aux?.Digest).find((d): d is string => typeof d === "string");
  } finally {
    await removeImage(docker, `${repo}:${tag}`, log).catch(() => {});
  }
}

/**
 * Pushes package images to the shared cache one after another, in the background of the build: the push of
 * package i overlaps the build of package i+1, and by the time the last package is done most layers are in the
 * registry already. `flush()` waits for all of them and rethrows the first failure.
 */
export class SharedCachePublisher {
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private current: PushProgress | null = null;
  private pending = 0;
  /** Tags the registry is known to hold already (checked once at the start of the build), so no HEAD asks again. */
  private readonly present = new Set<string>();

  constructor(
    private readonly docker: Dockerode,
    private readonly cache: SharedCache,
    private readonly log: Logger = silentLogger,
  ) {}

  /**
   * Makes sure the registry has `tag` (a cache key or a base tag); `justBuilt` skips the check for an image just
   * built. Resolves when the registry has it (extraction then reads the layer from there), rejects when the push
   * failed; the failure is also kept for flush(), so the promise may be ignored.
   */
  ensure(what: string, tag: string, imageId: string, opts: { justBuilt?: boolean } = {}): Promise<void> {
    this.pending++;
    const done = this.chain.then(async () => {
      try {
        if (this.failure) throw this.failure;
        // A cancelled build pushes nothing more; what is queued behind the stopped push ends here.
        if (this.cache.signal?.aborted) throw new BuildCancelledError();
        if (!opts.justBuilt && (this.present.has(tag) || (await sharedHas(this.cache, tag)))) return;
        this.current = { what, doneBytes: 0, totalBytes: 0 };
        const started = Date.now();
        await pushShared(this.docker, this.cache, imageId, tag, {
          log: this.log,
          onProgress: (done, total) => (this.current = { what, doneBytes: done, totalBytes: total }),
        });
        this.log.debug("shared cache: pushed", { what, tag, ms: Date.now() - started });
      } catch (err) {
        this.failure ??= err as Error;
        throw err;
      } finally {
        this.current = null;
        this.pending--;
      }
    });
    this.chain = done.catch(() => {});
    done.catch(() => {});
    return done;
  }

  /** Records tags the registry holds, as a check made elsewhere found them. */
  knownPresent(tags: Iterable<string>): void {
    for (const tag of tags) this.present.add(tag);
  }

  /** What is being pushed right now, and how many pushes wait behind it. */
  status(): { current: PushProgress | null; pending: number } {
    return { current: this.current, pending: this.pending };
  }

  async flush(): Promise<void> {
    await this.chain;
    if (this.failure) throw this.failure;
  }
}

