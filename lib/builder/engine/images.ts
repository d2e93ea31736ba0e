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

/** Set by the disk image maker on its containers (lib/disk-images): not build leftovers, whatever they inherited. */
const DISK_IMAGE_LABEL = "strata.disk-image";
/** Set on helper containers of a build step that are never started, e.g. "dpkg-read" (lib/repository/dpkg.ts). */
const PURPOSE_LABEL = "strata.purpose";

/**
 * Whose a labelled container or image is. A container inherits its image's labels, so `strata.build` on a container
 * made from a cache image names the build that made the image, not the one using the container: only containers
 * the builder made for a step (no purpose label, no disk-image label) belong to the build they name. Everything else
 * managed and without an owner is "loose" (a dpkg-read container, the disk tools' container made from the base, an
 * interrupted base import); "none" is not the sweep's to remove.
 */
export type LeftoverOwner = { build: string } | "loose" | "none";

export function leftoverOwner(labels: Record<string, string> | undefined): LeftoverOwner {
  if (labels?.[LABEL.managed] !== "1" || labels[DISK_IMAGE_LABEL] !== undefined) return "none";
  const build = labels[LABEL.build];
  if (!build || labels[PURPOSE_LABEL] !== undefined) return "loose";
  return { build };
}

export interface Leftover {
  kind: "container" | "image";
  id: string;
  owner: Exclude<LeftoverOwner, "none">;
  /** Since when it has been idle, in ms: its exit for an exited container, its creation otherwise. */
  idleSince: number;
  /** Containers: "running", "created", "exited", …; images: undefined. */
  state?: string;
  tags: string[];
}

/**
 * Everything the builder may have left behind, found by label: every managed container, and managed images that are
 * dangling (a cache image whose tag moved on, an interrupted commit or import) or of role `publish` (labelled copies
 * older versions made for a push). Tagged cache images (`strata-cache:<key>`) and the base image are the cache: never
 * listed. `buildId` limits the listing to what carries that build's label.
 */
export async function listLeftovers(docker: Dockerode, opts: { buildId?: string; log?: Logger } = {}): Promise<Leftover[]> {
  const log = opts.log ?? silentLogger;
  const labels = [`${LABEL.managed}=1`, ...(opts.buildId ? [`${LABEL.build}=${opts.buildId}`] : [])];
  const found: Leftover[] = [];
  const containers = await engineCall(log, "list containers", labels.join(","), () =>
    docker.listContainers({ all: true, filters: JSON.stringify({ label: labels }) }),
  );
  for (const c of containers) {
    const owner = leftoverOwner(c.Labels);
    if (owner === "none") continue;
    let idleSince = c.Created * 1000;
    if (c.State === "exited" || c.State === "dead") {
      // The list does not say when it exited; an exited container's last use is that moment.
      const finished = await docker
        .getContainer(c.Id)
        .inspect()
        .then((i) => Date.parse(i.State?.FinishedAt ?? ""), () => NaN);
      if (Number.isFinite(finished) && finished > idleSince) idleSince = finished;
    }
    found.push({ kind: "container", id: c.Id, owner, idleSince, state: c.State, tags: [] });
  }
  const images = await engineCall(log, "list images", labels.join(","), () =>
    docker.listImages({ all: false, filters: JSON.stringify({ label: labels }) }),
  );
  for (const image of images) {
    const owner = leftoverOwner(image.Labels ?? undefined);
    if (owner === "none") continue;
    const tags = (image.RepoTags ?? []).filter((t) => t !== "<none>:<none>");
    if (image.Labels?.[LABEL.role] !== "publish" && tags.length > 0) continue;
    found.push({ kind: "image", id: image.Id, owner, idleSince: image.Created * 1000, tags });
  }
  return found;
}

/** Removes one leftover (force for containers: a running one is killed). False when it is gone already or still in use. */
export async function removeLeftover(docker: Dockerode, leftover: Leftover, log: Logger = silentLogger): Promise<boolean> {
  if (leftover.kind === "container") {
    try {
      await engineCall(log, "remove container", leftover.id, () => docker.getContainer(leftover.id).remove({ force: true, v: true }));
      return true;
    } catch (err) {
      // Already gone, or being removed by its own build's finally block.
      if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
      return false;
    }
  }
  // Untag first: removing by id refuses an image with several tags unless forced.
  for (const tag of leftover.tags) await removeImage(docker, tag, log);
  return removeImage(docker, leftover.id, log);
}

/**
 * Removes what one build left behind (see listLeftovers): its step containers, killed if running, and its dangling
 * intermediates. Containers that only inherited the build's label from an image (another build reading that image)
 * are not its. `olderThan` limits the sweep to objects created before that instant.
 */
export async function sweepLeftovers(docker: Dockerode, opts: { olderThan?: Date; buildId: string; log?: Logger }): Promise<SweepResult> {
  const log = opts.log ?? silentLogger;
  const cutoff = opts.olderThan ? opts.olderThan.getTime() : Infinity;
  const result: SweepResult = { containers: [], images: [] };
  // Containers first: an image is in use while a container of it exists.
  const leftovers = (await listLeftovers(docker, { buildId: opts.buildId, log })).filter(
    (l) => typeof l.owner === "object" && l.owner.build === opts.buildId && l.idleSince < cutoff,
  );
  for (const leftover of leftovers) {
    if (await removeLeftover(docker, leftover, log)) (leftover.kind === "container" ? result.containers : result.images).push(leftover.id);
  }
  return result;
}
