// The bench's images in the engine: copies of the base image that make every cache key new, and their removal.
import type Dockerode from "dockerode";
import { commitContainer, removeContainer } from "@/lib/builder/engine/containers";
import { inspectImage, removeImage, splitRef } from "@/lib/builder/engine/images";

/**
 * A copy of `from` under a new image id and the same layers: a never-started container committed with one more label.
 * Cache keys start from the base image's id, so a build on the copy misses every key (our side is cold) while the
 * machine's own cache stays as it is.
 */
export async function copyBaseImage(docker: Dockerode, from: string, ref: string, label: string): Promise<{ ref: string; id: string }> {
  const source = await inspectImage(docker, from);
  if (!source) throw new Error(`the engine has no ${from} to copy`);
  const container = await docker.createContainer({ Image: from });
  try {
    const [repo, tag] = splitRef(ref);
    const config = source.Config as unknown as Record<string, unknown> & { Labels?: Record<string, string> | null };
    const id = await commitContainer(container, { repo, tag, config: { ...config, Labels: { ...(config.Labels ?? {}), bench: label } } });
    const copy = await inspectImage(docker, id);
    if (copy?.RootFS?.Layers?.join() !== source.RootFS?.Layers?.join()) throw new Error(`the copy ${ref} of ${from} has other layers`);
    return { ref, id };
  } finally {
    await removeContainer(container);
  }
}

/**
 * Removes the images descending from `roots` (found through their parent links, which `docker commit` and the classic
 * `docker build` record), leaves first, and the roots themselves: the cache images of the bench's builds, the
 * Dockerfile builds with their intermediates and tags. Nothing else descends from a copy only the bench knows.
 */
export async function removeImageTrees(docker: Dockerode, roots: string[]): Promise<number> {
  if (roots.length === 0) return 0;
  const children = new Map<string, string[]>();
  for (const image of await docker.listImages({ all: true })) {
    if (image.ParentId) children.set(image.ParentId, [...(children.get(image.ParentId) ?? []), image.Id]);
  }
  const leavesFirst: string[] = [];
  const visit = (id: string) => {
    for (const child of children.get(id) ?? []) visit(child);
    leavesFirst.push(id);
  };
  roots.forEach(visit);
  let removed = 0;
  // Force drops every tag of an image; removing an image also prunes its untagged parents (then 404, which is fine).
  for (const id of leavesFirst) if (await removeImage(docker, id, undefined, { force: true })) removed++;
  return removed;
}
