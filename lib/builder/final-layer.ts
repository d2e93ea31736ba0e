// The last layer of every OS image, written by the builder itself (tar-stream, no container): the version stamp and the
// files that give a machine its identity. Nothing version-specific sits under a customer layer, so those stay cached.
import { createHash } from "node:crypto";
import zlib from "node:zlib";
import tar from "tar-stream";
import type { PackageDefinition } from "../manifest/schema";

export interface ImageIdentity {
  /** The flavour's name, e.g. "kiosk". */
  flavour: string;
  /** The build's version, e.g. "r2.1". */
  version: string;
  /** e.g. "strata-base 2". */
  baseVersion: string;
  buildId: string;
  /** Written to /etc/hostname; "" leaves it empty (systemd then uses its fallback name). */
  hostname: string;
  /** Content of /etc/hosts when a layer ships its own (localhost lines are added when it lacks them). */
  hosts?: string;
  /** Content of /etc/resolv.conf when a layer ships its own; otherwise the link to systemd-resolved's stub. */
  resolvConf?: string;
}

/**
 * The engine bind-mounts /etc/hostname, /etc/hosts and /etc/resolv.conf into every build container, so a
 * layer's overlay files at those paths never reach its image; the builder takes them from the definitions
 * instead (the last package that sets one wins). The hostname catalog layer ships /usr/lib/strata/hostname.
 */
export function identityFiles(packages: readonly PackageDefinition[]): Pick<ImageIdentity, "hostname" | "hosts" | "resolvConf"> {
  const found: Pick<ImageIdentity, "hostname" | "hosts" | "resolvConf"> = { hostname: "" };
  for (const pkg of packages) {
    for (const file of pkg.files) {
      if (file.path === "/etc/hostname" || file.path === "/usr/lib/strata/hostname") found.hostname = file.content.trim();
      else if (file.path === "/etc/hosts") found.hosts = file.content;
      else if (file.path === "/etc/resolv.conf") found.resolvConf = file.content;
    }
  }
  return found;
}

/** os-release(5): IDs use only a-z 0-9 . _ -. */
const toId = (value: string) => value.toLowerCase().replace(/[^a-z0-9._-]/g, "_");
/** os-release(5): quoted values escape \ " $ and `. */
const quote = (value: string) => `"${value.replace(/[\\"`$]/g, (c) => `\\${c}`)}"`;

export function osRelease(id: ImageIdentity): string {
  const flavourId = toId(id.flavour);
  const versionId = toId(id.version);
  return [
    `PRETTY_NAME=${quote(`Strata ${id.flavour} ${id.version}`)}`,
    'NAME="Strata"',
    "ID=strata",
    "ID_LIKE=debian",
    `VERSION=${quote(`${id.version} (base ${id.baseVersion})`)}`,
    `VERSION_ID=${versionId}`,
    `VARIANT=${quote(id.flavour)}`,
    `VARIANT_ID=${flavourId}`,
    `IMAGE_ID=${flavourId}`,
    `IMAGE_VERSION=${versionId}`,
    `STRATA_BASE_VERSION=${quote(id.baseVersion)}`,
    `STRATA_BUILD_ID=${id.buildId}`,
    "",
  ].join("\n");
}

const LOCALHOST = ["127.0.0.1\tlocalhost", "::1\t\tlocalhost ip6-localhost ip6-loopback", "ff02::1\t\tip6-allnodes", "ff02::2\t\tip6-allrouters"];

export function hostsFile(id: Pick<ImageIdentity, "hostname" | "hosts">): string {
  const own = id.hostname ? [`127.0.1.1\t${id.hostname}${id.hostname.includes(".") ? ` ${id.hostname.split(".")[0]}` : ""}`] : [];
  if (id.hosts === undefined) return [...LOCALHOST, ...own, ""].join("\n");
  const mapsLocalhost = id.hosts.split("\n").some((line) => /^\s*127\.0\.0\.1\s+(.*\s)?localhost(\s|$)/.test(line));
  return (mapsLocalhost ? "" : `${LOCALHOST.join("\n")}\n`) + id.hosts + (id.hosts.endsWith("\n") ? "" : "\n");
}

const RESOLVED_STUB = "../run/systemd/resolve/stub-resolv.conf";

export interface FinalLayer {
  /** The uncompressed tar: its sha256 is the layer's diffID in the image config. */
  tar: Buffer;
  diffId: string;
  /** The gzip blob pushed to the registry (image layers stay gzip so that every engine can pull them). */
  blob: Buffer;
  digest: string;
  /** Paths it writes, for the build log and the repository. */
  paths: string[];
}

type Entry = { name: string; type: "file" | "directory" | "symlink"; mode: number; content?: string; linkname?: string };

export function finalLayerEntries(id: ImageIdentity): Entry[] {
  return [
    { name: "etc/", type: "directory", mode: 0o755 },
    { name: "etc/hostname", type: "file", mode: 0o644, content: id.hostname ? `${id.hostname}\n` : "" },
    { name: "etc/hosts", type: "file", mode: 0o644, content: hostsFile(id) },
    // Empty means "generate at first boot" (machine-id(5)): an id baked into the image would be shared by every device.
    { name: "etc/machine-id", type: "file", mode: 0o444, content: "" },
    { name: "etc/os-release", type: "symlink", mode: 0o777, linkname: "../usr/lib/os-release" },
    id.resolvConf !== undefined
      ? { name: "etc/resolv.conf", type: "file", mode: 0o644, content: id.resolvConf }
      : { name: "etc/resolv.conf", type: "symlink", mode: 0o777, linkname: RESOLVED_STUB },
    { name: "usr/", type: "directory", mode: 0o755 },
    { name: "usr/lib/", type: "directory", mode: 0o755 },
    { name: "usr/lib/os-release", type: "file", mode: 0o644, content: osRelease(id) },
  ];
}

/** Builds the layer. `mtime` is the build's time, so the same identity at the same instant gives the same bytes. */
export async function finalLayer(id: ImageIdentity, mtime: Date): Promise<FinalLayer> {
  const pack = tar.pack();
  const entries = finalLayerEntries(id);
  for (const e of entries) {
    const header = { name: e.name, type: e.type, mode: e.mode, uid: 0, gid: 0, mtime, linkname: e.linkname };
    if (e.type === "file") pack.entry(header, e.content ?? "");
    else pack.entry(header);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  const tarBytes = Buffer.concat(chunks);
  const blob = zlib.gzipSync(tarBytes, { level: 9 });
  const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
  return { tar: tarBytes, diffId: sha(tarBytes), blob, digest: sha(blob), paths: entries.filter((e) => e.type !== "directory").map((e) => `/${e.name}`) };
}
