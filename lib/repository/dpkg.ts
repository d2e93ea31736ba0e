// The Debian packages of an image and their licences, read from its dpkg database and /usr/share/doc/*/copyright without running it.
//
// The deb822 parser is written here: the only npm package for it, `debian-control` (a single
// 1.0.0 release, GPL-3.0), is not maintained, and the format (RFC-822-like paragraphs with
// continuation lines, deb822(5)) is small and settled.
import type Dockerode from "dockerode";
import tar from "tar-stream";
import { removeContainer } from "../builder/engine/containers";
import { engineCall, LABEL, statusOf } from "../builder/engine/images";
import { silentLogger, type Logger } from "../log";
import type { DebianPackage } from "./types";

/** One deb822 paragraph: lower-cased field name → value (continuation lines joined with "\n"). */
export type Deb822Paragraph = Map<string, string>;

/**
 * Splits deb822 text into paragraphs. A line starting with space or tab continues the field
 * above; " ." stands for an empty line inside a value; "#" lines are comments (DEP-5 files may
 * carry them). Field names are case-insensitive, hence lower-cased keys.
 */
export function parseDeb822(text: string): Deb822Paragraph[] {
  const paragraphs: Deb822Paragraph[] = [];
  let current: Deb822Paragraph | null = null;
  let field: string | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "") {
      if (current) paragraphs.push(current);
      current = null;
      field = null;
      continue;
    }
    if (line.startsWith("#")) continue;
    if (line[0] === " " || line[0] === "\t") {
      // A continuation with no field above it is malformed; dpkg would reject it, we skip it.
      if (!current || !field) continue;
      const rest = line.slice(1);
      current.set(field, `${current.get(field)}\n${rest.trim() === "." ? "" : rest}`);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    current ??= new Map();
    field = line.slice(0, colon).trim().toLowerCase();
    current.set(field, line.slice(colon + 1).trim());
  }
  if (current) paragraphs.push(current);
  return paragraphs;
}

const firstLine = (value: string | undefined) => value?.split("\n", 1)[0].trim() ?? "";

/** Plain code-unit order, so the list is the same on every machine whatever its locale. */
const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The packages dpkg lists as installed, sorted by name then architecture. */
export function parseDpkgStatus(text: string): DebianPackage[] {
  const packages: DebianPackage[] = [];
  for (const paragraph of parseDeb822(text)) {
    // "install ok installed", "hold ok installed"; removed packages that kept their conffiles
    // ("deinstall ok config-files") and half-installed ones are not in the image's software.
    if (!/ installed$/.test(firstLine(paragraph.get("status")))) continue;
    const name = firstLine(paragraph.get("package"));
    const version = firstLine(paragraph.get("version"));
    if (!name || !version) continue;
    const pkg: DebianPackage = { name, version, architecture: firstLine(paragraph.get("architecture")) };
    const source = /^(\S+)(?:\s*\(([^)]+)\))?$/.exec(firstLine(paragraph.get("source")));
    if (source) {
      const [, sourceName, sourceVersion] = source;
      // dpkg omits Source when it equals the package; a binNMU names it anyway, with the version.
      if (sourceName !== name || sourceVersion) pkg.source = sourceName;
      if (sourceVersion) pkg.sourceVersion = sourceVersion.trim();
    }
    const homepage = firstLine(paragraph.get("homepage"));
    if (homepage) pkg.homepage = homepage;
    packages.push(pkg);
  }
  return packages.sort((a, b) => byCodeUnits(a.name, b.name) || byCodeUnits(a.architecture, b.architecture));
}

/** "Format:" of DEP-5 1.0, and "Format-Specification:" of the drafts some old packages still ship. */
const DEP5_FORMAT = /^https?:\/\/(www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/?|svn\.debian\.org\/.*dep5)/i;

/** The DEP-5 licence and whether it came from the `Files: *` paragraph (see licenseFromCopyright). */
function dep5License(text: string): { license: string; catchAll: boolean } | undefined {
  const paragraphs = parseDeb822(text);
  const header = paragraphs[0];
  const format = firstLine(header?.get("format") ?? header?.get("format-specification"));
  if (!DEP5_FORMAT.test(format)) return undefined;
  const files = paragraphs.slice(1).filter((p) => p.has("files") && firstLine(p.get("license")));
  const catchAll = files.find((p) => p.get("files")!.split(/\s+/).includes("*"));
  if (catchAll) return { license: firstLine(catchAll.get("license")), catchAll: true };
  const names = [...new Set(files.map((p) => firstLine(p.get("license"))))];
  if (names.length === 0) return undefined;
  const license = names.length === 1 ? names[0] : names.map((n) => (/[\s,]/.test(n) ? `(${n})` : n)).join(" AND ");
  return { license, catchAll: false };
}

/**
 * The licence a machine-readable (DEP-5) copyright file gives the package: the `License:` short
 * name(s) of its `Files: *` paragraph, else the distinct ones of all its Files paragraphs joined
 * with " AND " (a compound one in parentheses, so the join keeps its meaning). Undefined when the
 * file is not DEP-5 (free text cannot be read reliably) or names no licence.
 */
export function licenseFromCopyright(text: string): string | undefined {
  return dep5License(text)?.license;
}

export const STATUS_PATH = "/var/lib/dpkg/status";
const DOC_PATH = "/usr/share/doc";
/** A real status file is a few MiB; a larger one is not a dpkg database we should hold in memory. */
export const MAX_STATUS_BYTES = 64 * 1024 * 1024;
/** Copyright files are text; a few packages ship long ones, and the licence is named near the top. */
export const MAX_COPYRIGHT_BYTES = 256 * 1024;
/** Marks the throwaway container, so a leftover can be told from a build's. */
export const DPKG_READ_LABEL = { "strata.purpose": "dpkg-read" } as const;

/** tar-stream's entry type, which its typings do not export. */
type TarEntry = tar.Extract extends AsyncIterable<infer E> ? E : never;

/** Reads an entry up to `cap` bytes and drains the rest, so the archive moves on to the next entry. */
export async function readCapped(entry: TarEntry | AsyncIterable<Uint8Array>, cap: number): Promise<{ text: string; truncated: boolean }> {
  const parts: Uint8Array[] = [];
  let held = 0;
  let truncated = false;
  for await (const chunk of entry as AsyncIterable<Uint8Array>) {
    if (held >= cap) {
      truncated = true;
      continue;
    }
    const part = chunk.subarray(0, cap - held);
    truncated ||= part.length < chunk.length;
    parts.push(part);
    held += part.length;
  }
  return { text: Buffer.concat(parts, held).toString("utf8"), truncated };
}

/**
 * Entries of the archive of `path` in the container; none when the path does not exist. Entries
 * the caller does not read are skipped as streams; the response is closed however the loop ends.
 */
async function* archiveEntries(
  container: Dockerode.Container,
  path: string,
  log: Logger,
  signal?: AbortSignal,
): AsyncGenerator<TarEntry, void, undefined> {
  let input: NodeJS.ReadableStream;
  try {
    input = await engineCall(log, "get archive", `${container.id}:${path}`, () => container.getArchive({ path, abortSignal: signal }));
  } catch (err) {
    if (statusOf(err) === 404) return;
    throw err;
  }
  const extract = tar.extract();
  input.on("error", (err: Error) => extract.destroy(err));
  input.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extract) {
      signal?.throwIfAborted();
      yield entry;
      entry.resume();
    }
  } finally {
    (input as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  }
}

/** `doc/<pkg>` → `<other>` from a symlinked doc directory or copyright file ("../other/copyright"). */
function docAlias(name: string, linkname: string | null | undefined): [string, string] | null {
  const dir = /^doc\/([^/]+)$/.exec(name);
  const dirTarget = dir && /^(?:\/usr\/share\/doc\/)?([^/.][^/]*)\/?$/.exec(linkname ?? "");
  if (dir && dirTarget) return [dir[1], dirTarget[1]];
  const file = /^doc\/([^/]+)\/copyright$/.exec(name);
  const fileTarget = file && /^(?:\.\.\/|\/usr\/share\/doc\/)([^/]+)\/copyright$/.exec(linkname ?? "");
  if (file && fileTarget) return [file[1], fileTarget[1]];
  return null;
}

/** Licence per doc directory name, following the symlinks packages use to share another's docs. */
async function readCopyrightLicenses(container: Dockerode.Container, log: Logger, signal?: AbortSignal) {
  const licenses = new Map<string, string>();
  const aliases = new Map<string, string>();
  for await (const entry of archiveEntries(container, DOC_PATH, log, signal)) {
    const name = entry.header.name.replace(/^\.\//, "").replace(/\/$/, "");
    if (entry.header.type === "symlink") {
      const alias = docAlias(name, entry.header.linkname);
      if (alias) aliases.set(alias[0], alias[1]);
      continue;
    }
    const copyright = /^doc\/([^/]+)\/copyright$/.exec(name);
    if (!copyright || entry.header.type !== "file") continue;
    const { text, truncated } = await readCapped(entry, MAX_COPYRIGHT_BYTES);
    // Of a cut file only whole lines are read (half a "License: GPL-2+" line would misstate it),
    // and only the Files: * licence is trusted: a join of the paragraphs before the cut could miss some.
    const found = dep5License(truncated ? text.slice(0, text.lastIndexOf("\n") + 1) : text);
    if (truncated) log.debug("copyright file cut at the size limit", { package: copyright[1], bytes: MAX_COPYRIGHT_BYTES });
    if (found && (found.catchAll || !truncated)) licenses.set(copyright[1], found.license);
  }
  const resolve = (name: string) => {
    // A few hops at most: symlink chains between doc directories are short, and a loop must end.
    for (let hop = 0, at: string | undefined = name; at !== undefined && hop < 4; hop++, at = aliases.get(at)) {
      const license = licenses.get(at);
      if (license) return license;
    }
    return undefined;
  };
  return resolve;
}

/** Up to this many unknown packages, their copyright files are fetched one by one instead of the doc directory. */
const FEW_COPYRIGHTS = 32;

/** name:architecture:version — a package version whose copyright file, and so licence, is fixed. */
export const debianPackageKey = (p: Pick<DebianPackage, "name" | "architecture" | "version">) => `${p.name}:${p.architecture}:${p.version}`;

/** The licence of one package's copyright file (the engine resolves a symlinked doc directory on the way). */
async function readOneCopyrightLicense(container: Dockerode.Container, name: string, log: Logger, signal?: AbortSignal): Promise<string | undefined> {
  if (!/^[a-z0-9][a-z0-9+.-]*$/.test(name)) return undefined;
  for await (const entry of archiveEntries(container, `${DOC_PATH}/${name}/copyright`, log, signal)) {
    if (entry.header.type !== "file") continue;
    const { text, truncated } = await readCapped(entry, MAX_COPYRIGHT_BYTES);
    const found = dep5License(truncated ? text.slice(0, text.lastIndexOf("\n") + 1) : text);
    if (found && (found.catchAll || !truncated)) return found.license;
  }
  return undefined;
}

/**
 * The Debian packages installed in an engine image, with the licence of each package's DEP-5
 * copyright file. The image is never run: a created container's filesystem is read through the
 * archive API, which also works for images of another architecture. [] when the image has no
 * dpkg database (not Debian-based).
 */
export async function readImageDebianPackages(
  docker: Dockerode,
  imageId: string,
  opts: {
    log?: Logger;
    signal?: AbortSignal;
    /** Licences already known, by debianPackageKey (null: known to have none); their copyright files are not read. */
    knownLicenses?: (packages: readonly DebianPackage[]) => Promise<Map<string, string | null>>;
  } = {},
): Promise<DebianPackage[]> {
  const log = opts.log ?? silentLogger;
  opts.signal?.throwIfAborted();
  const container = await engineCall(log, "create container", `from ${imageId} to read its dpkg database`, () =>
    docker.createContainer({
      Image: imageId,
      // Never started: a command is given only because the engine will not create a container
      // from an image that has none (an imported base).
      Entrypoint: [],
      Cmd: ["/bin/true"],
      // strata.managed lets the start-up sweep remove a container a crash left behind.
      Labels: { [LABEL.managed]: "1", ...DPKG_READ_LABEL },
      HostConfig: { NetworkMode: "none", AutoRemove: false },
    }),
  );
  try {
    let status: string | null = null;
    for await (const entry of archiveEntries(container, STATUS_PATH, log, opts.signal)) {
      if (entry.header.type !== "file" || entry.header.name.replace(/^\.\//, "") !== "status") continue;
      const read = await readCapped(entry, MAX_STATUS_BYTES);
      if (read.truncated) throw new Error(`${STATUS_PATH} of ${imageId} is larger than ${MAX_STATUS_BYTES} bytes`);
      status = read.text;
    }
    if (status === null) {
      log.debug("image has no dpkg database", { imageId });
      return [];
    }
    const packages = parseDpkgStatus(status);
    // A package version's copyright file never changes: licences already read elsewhere are taken as they are, and
    // only the rest are read, one file each when they are few (an added layer), else the whole doc directory.
    const known = opts.knownLicenses ? await opts.knownLicenses(packages) : new Map<string, string | null>();
    const unknown: DebianPackage[] = [];
    for (const pkg of packages) {
      const license = known.get(debianPackageKey(pkg));
      if (license === undefined) unknown.push(pkg);
      else if (license !== null) pkg.license = license;
    }
    if (unknown.length > 0 && unknown.length <= FEW_COPYRIGHTS && known.size > 0) {
      for (const pkg of unknown) {
        const license = await readOneCopyrightLicense(container, pkg.name, log, opts.signal);
        if (license) pkg.license = license;
      }
    } else if (unknown.length > 0) {
      const licenseOf = await readCopyrightLicenses(container, log, opts.signal);
      for (const pkg of unknown) {
        const license = licenseOf(pkg.name);
        if (license) pkg.license = license;
      }
    }
    log.debug("read dpkg database", { imageId, packages: packages.length, withLicense: packages.filter((p) => p.license).length });
    return packages;
  } finally {
    // A failed removal must not hide the result or the error above; the label sweep gets it later.
    await removeContainer(container, log).catch((err: Error) =>
      log.warn("could not remove the dpkg-read container", { containerId: container.id, error: err.message }),
    );
  }
}
