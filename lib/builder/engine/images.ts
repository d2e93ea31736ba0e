// Typed verbs over dockerode for the images the builder makes: cache lookups, tags, removal, and the leftover sweep.
import type Dockerode from "dockerode";
import { silentLogger, type Logger } from "../../log";
import { EngineUnavailableError, isEngineUnreachable } from "./client";

/** Label names on everything the builder creates. */
export const LABEL = {
  managed: "strata.managed",
  build: "strata.build",
  cacheKey: "strata.cache-key",
  package: "strata.package",
  /** "base" (the imported root filesystem), "cache" (one package's image), "publish" (a labelled copy older versions made for a push; swept). */
  role: "strata.role",
} as const;

export type ImageRole = "base" | "cache" | "publish";

/**
 * Cache images are tagged `strata-cache:<full cache key>`: a tagged image is never dangling, so
 * `docker image prune` and our own sweep leave it alone, and a lookup by key is one inspect call.
 */
export const CACHE_REPOSITORY = "strata-cache";
export const cacheTag = (key: string) => `${CACHE_REPOSITORY}:${key}`;

/** Wraps an engine error with the operation and object it concerned; unreachable engines become retryable. */
export function engineError(operation: string, subject: string, err: unknown): Error {
  const message = (err as Error)?.message ?? String(err);
  if (isEngineUnreachable(err)) {
    return new EngineUnavailableError(`${operation} ${subject}: the Docker engine is unreachable (${message})`, { cause: err });
  }
  const wrapped = new Error(`${operation} ${subject} failed: ${message}`, { cause: err });
  (wrapped as Error & { statusCode?: number }).statusCode = (err as { statusCode?: number })?.statusCode;
  return wrapped;
}

export const statusOf = (err: unknown) => (err as { statusCode?: number } | undefined)?.statusCode;

/** Runs one engine call with a debug line before and after, rethrowing with context. */
export async function engineCall<T>(log: Logger, operation: string, subject: string, call: () => Promise<T>): Promise<T> {
  log.debug(`${operation}: start`, { subject });
  try {
    const result = await call();
    log.debug(`${operation}: done`, { subject });
    return result;
  } catch (err) {
    log.debug(`${operation}: failed`, { subject, error: (err as Error)?.message });
    throw engineError(operation, subject, err);
  }
}

/** Image details, or null when the engine does not have `ref`. */
export async function inspectImage(docker: Dockerode, ref: string, log: Logger = silentLogger) {
  try {
    return await engineCall(log, "inspect image", ref, () => docker.getImage(ref).inspect());
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw err;
  }
}

/**
 * The image built for `key`, whichever build or org made it: one inspect of its tag. The label is
 * checked too, so a tag pointed elsewhere by hand is not trusted. (A cache image whose tag was
 * removed is not searched for by label: that is a rare rebuild, and the search would cost every
 * cache miss a full image listing.)
 */
export async function findImageByCacheKey(docker: Dockerode, key: string, log: Logger = silentLogger): Promise<string | null> {
  const tagged = await inspectImage(docker, cacheTag(key), log);
  return tagged && tagged.Config?.Labels?.[LABEL.cacheKey] === key ? tagged.Id : null;
}

/** "repo:tag" → ["repo", "tag"]; a reference without a tag is "latest" (a registry port is not a tag). */
export function splitRef(ref: string): [string, string] {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, "latest"];
}

export async function tagImage(docker: Dockerode, imageId: string, repo: string, tag: string, log: Logger = silentLogger) {
  await engineCall(log, "tag image", `${imageId} as ${repo}:${tag}`, () => docker.getImage(imageId).tag({ repo, tag }));
}

/** Removes an image or tag; a missing one is not an error. Returns false when it is still in use. */
export async function removeImage(docker: Dockerode, ref: string, log: Logger = silentLogger, opts: { force?: boolean } = {}) {
  try {
    await engineCall(log, "remove image", ref, () => docker.getImage(ref).remove({ force: opts.force ?? false, noprune: false }));
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return true;
    // 409: a container or a child image still uses it; that is for a later sweep.
    if (statusOf(err) === 409) return false;
    throw err;
  }
}

export interface SweepResult {
  containers: string[];
  images: string[];
}

/**
 * Removes what builds left behind, found by label:
 * - every container labelled `strata.managed=1` (force: running ones are killed);
 * - images of role `publish` (labelled copies that earlier versions made for a push);
 * - dangling managed images (a cache image whose tag moved on, an interrupted commit).
 * Tagged cache images (`strata-cache:<key>`) and the base image are kept: they are the cache.
 * `buildId` limits the sweep to one build; `olderThan` to objects created before that instant, which
 * is what a worker sharing its engine with other workers must pass at start-up.
 */
export async function sweepLeftovers(
  docker: Dockerode,
  opts: { olderThan?: Date; buildId?: string; log?: Logger } = {},
): Promise<SweepResult> {
  const log = opts.log ?? silentLogger;
  const labels = [`${LABEL.managed}=1`, ...(opts.buildId ? [`${LABEL.build}=${opts.buildId}`] : [])];
  const cutoff = opts.olderThan ? Math.floor(opts.olderThan.getTime() / 1000) : Infinity;
  const result: SweepResult = { containers: [], images: [] };

  const containers = await engineCall(log, "list containers", labels.join(","), () =>
    docker.listContainers({ all: true, filters: JSON.stringify({ label: labels }) }),
  );
  for (const c of containers.filter((c) => c.Created < cutoff)) {
    try {
      await engineCall(log, "remove container", c.Id, () => docker.getContainer(c.Id).remove({ force: true, v: true }));
      result.containers.push(c.Id);
    } catch (err) {
      // Already gone, or being removed by its own build's finally block.
      if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
    }
  }

  const images = await engineCall(log, "list images", labels.join(","), () =>
    docker.listImages({ all: false, filters: JSON.stringify({ label: labels }) }),
  );
  for (const image of images.filter((i) => i.Created < cutoff)) {
    const tags = (image.RepoTags ?? []).filter((t) => t !== "<none>:<none>");
    const role = image.Labels?.[LABEL.role];
    const dangling = tags.length === 0;
    if (role !== "publish" && !dangling) continue;
    // Untag first: removing by id refuses an image with several tags unless forced.
    for (const tag of tags) await removeImage(docker, tag, log);
    if (await removeImage(docker, image.Id, log)) result.images.push(image.Id);
  }
  return result;
}
