// Image references as the channel document writes them: `host[:port]/repo[/…]@sha256:…` or `…:tag`.
//
// Simpler than Docker's normalisation on purpose: the server always writes the registry host, so
// the host is everything before the first "/" and there is no implicit docker.io or "library/".
import { isDigest } from "../registry";

export interface ImageReference {
  /** host[:port], as parseRegistry takes it. */
  registry: string;
  repository: string;
  tag: string | null;
  digest: string | null;
}

export function parseImageReference(value: string): ImageReference {
  const slash = value.indexOf("/");
  if (slash <= 0) throw new Error(`the image reference "${value}" names no registry host (expected host[:port]/repository@sha256:… or …:tag)`);
  const registry = value.slice(0, slash);
  let rest = value.slice(slash + 1);

  let digest: string | null = null;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw new Error(`the image reference "${value}" has a malformed digest "${digest}"`);
  }
  // A colon after the last "/" starts the tag; one before it can only be in the host, handled above.
  let tag: string | null = null;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tag) throw new Error(`the image reference "${value}" has an empty tag`);
  }
  if (!rest || rest.split("/").some((part) => part === "")) throw new Error(`the image reference "${value}" has no repository name`);
  if (!tag && !digest) throw new Error(`the image reference "${value}" has neither a tag nor a digest`);
  return { registry, repository: rest, tag, digest };
}

export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}
