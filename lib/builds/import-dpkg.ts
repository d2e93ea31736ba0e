// The Debian packages of an imported image. A hand-made change is often an `apt-get install`: when an extra layer
// rewrote dpkg's status file, that file is the list (with licences from the parent's list, else from the copyright
// files the layers brought); otherwise the parent's list stands. Read from the layer blobs in the registry: the web
// process needs no engine.
import zlib from "node:zlib";
import type { RegistryClient } from "../registry/client";
import { tarEntries, type Artefact } from "../builder/extract";
import { debianPackageKey, licenseFromCopyright, MAX_COPYRIGHT_BYTES, MAX_STATUS_BYTES, parseDpkgStatus, readCapped, STATUS_PATH } from "../repository/dpkg";
import type { DebianPackage } from "../repository/types";

const COPYRIGHT = /^\/usr\/share\/doc\/([^/]+)\/copyright$/;

/** What the layer touches of the dpkg database: the status file written, or deleted (with its directory or not). */
function statusChange(artefact: Pick<Artefact, "files" | "deleted">): "written" | "deleted" | null {
  if (artefact.files.some((f) => f.path === STATUS_PATH && f.type === "file")) return "written";
  if (artefact.deleted.some((d) => d === STATUS_PATH || (d.endsWith("/") && STATUS_PATH.startsWith(d)))) return "deleted";
  return null;
}

export interface ImportedDebianPackages {
  packages: DebianPackage[];
  /** Where the list comes from: the parent's (no layer changed dpkg's status), or the image's own status file. */
  source: "parent" | "layers";
}

/**
 * The Debian packages of the parent's image with `layers` on top (in order, each with the artefact made from it).
 * Only layers that touch dpkg's status file or a copyright file are read again.
 */
export async function importedDebianPackages(
  registry: RegistryClient,
  repository: string,
  layers: ReadonlyArray<{ digest: string; artefact: Pick<Artefact, "files" | "deleted"> }>,
  parent: readonly DebianPackage[],
): Promise<ImportedDebianPackages> {
  const last = layers.map((l) => statusChange(l.artefact)).filter((c) => c !== null).at(-1);
  if (!last) return { packages: [...parent], source: "parent" };
  if (last === "deleted") return { packages: [], source: "layers" };

  let status: string | null = null;
  const copyrights = new Map<string, string>();
  for (const layer of layers) {
    const touches = layer.artefact.files.some((f) => f.path === STATUS_PATH || COPYRIGHT.test(f.path));
    if (!touches) continue;
    const blob = await registry.openBlob(repository, layer.digest);
    const gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 });
    blob.on("error", (err) => gunzip.destroy(err));
    try {
      for await (const { header, body } of tarEntries(blob.pipe(gunzip))) {
        if (header.type !== "file" || !body || typeof body === "function" || !(Symbol.asyncIterator in body)) continue;
        const path = `/${header.name.replace(/^(\.\/|\/)+/, "")}`;
        if (path === STATUS_PATH) {
          const read = await readCapped(body, MAX_STATUS_BYTES);
          if (read.truncated) throw new Error(`${STATUS_PATH} in layer ${layer.digest} is larger than ${MAX_STATUS_BYTES} bytes`);
          status = read.text;
        } else {
          const name = COPYRIGHT.exec(path)?.[1];
          if (name) copyrights.set(name, (await readCapped(body, MAX_COPYRIGHT_BYTES)).text);
        }
      }
    } finally {
      blob.destroy();
    }
  }
  if (status === null) return { packages: [...parent], source: "parent" };
  const known = new Map(parent.map((p) => [debianPackageKey(p), p.license]));
  const packages = parseDpkgStatus(status).map((pkg) => {
    const license = known.has(debianPackageKey(pkg)) ? known.get(debianPackageKey(pkg)) : copyrights.has(pkg.name) ? licenseFromCopyright(copyrights.get(pkg.name)!) : undefined;
    return license ? { ...pkg, license } : pkg;
  });
  return { packages, source: "layers" };
}
