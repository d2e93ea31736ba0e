// Image references a device can be pinned to: "<registry>/<repository>:<tag>" or "<registry>/<repository>@sha256:<hex>",
// by the distribution grammar. A registry host is required: a device has no default registry to fall back on.
const HOST = String.raw`(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?`;
const COMPONENT = String.raw`[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*`;
const REFERENCE = new RegExp(String.raw`^(${HOST})/(${COMPONENT}(?:/${COMPONENT})*)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`);

export interface ImageReference {
  registry: string;
  repository: string;
  tag: string | null;
  digest: string | null;
}

/** Parses a pinned reference, or explains what is wrong with it. */
export function parseImageReference(value: string): ImageReference | { error: string } {
  const m = REFERENCE.exec(value);
  if (!m) return { error: "must be an image reference such as registry.example.com/acme/web:1.2 or 127.0.0.1:5000/acme/web@sha256:<64 hex>" };
  const [, registry, repository, tag, digest] = m;
  // "acme/web:1" has no registry host: the first component must look like a host (a dot, a port, or localhost).
  if (!/[.:[]/.test(registry) && registry !== "localhost") return { error: `must start with the registry's host (such as registry.example.com/${value}); "${registry}" is not a host` };
  if (!tag && !digest) return { error: "must name a tag (…:1.2) or a digest (…@sha256:…)" };
  return { registry, repository, tag: tag ?? null, digest: digest ?? null };
}
