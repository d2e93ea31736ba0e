// Small formatters and shapes the repository pages share (plain data, so server and client components can both use them).
import type { RepositoryFile } from "@/lib/repository/types";
import { formatBytes } from "../builds/format";

/** "0755": permission bits as chmod takes them. */
export const formatOctal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, "0");

/** "+1.2 KiB", "−300 B", "±0 B": a change in size, signed. */
export function formatSizeDelta(delta: number): string {
  if (delta === 0) return "±0 B";
  return `${delta > 0 ? "+" : "−"}${formatBytes(Math.abs(delta))}`;
}

/** Green for growth, red for shrinkage: the accents of the diff views. */
export const deltaTone = (delta: number) => (delta > 0 ? "text-emerald-700" : delta < 0 ? "text-red-700" : "text-slate-500");

/** The hex part of "sha256:<hex>", as `sha256sum` prints it. */
export const digestHex = (digest: string) => digest.replace(/^sha256:/, "");

export const repositoryPath = (flavourId: string, number: number) => `/flavours/${flavourId}/repository/${number}`;

export const packagePath = (flavourId: string, number: number, pkg: { category: string; name: string }) =>
  `${repositoryPath(flavourId, number)}/packages/${encodeURIComponent(pkg.category)}/${encodeURIComponent(pkg.name)}`;

/** The REST API's base for one revision: files, packages, index.json, repository.yaml, sbom.spdx.json. */
export const revisionApi = (flavourId: string, number: number) => `/api/v1/flavours/${flavourId}/repository/${number}`;

export const artefactUrl = (digest: string) => `/api/v1/artefacts/${encodeURIComponent(digest)}`;

export const FILE_TYPE_LABEL: Record<string, string> = {
  file: "file",
  directory: "directory",
  symlink: "symlink",
  link: "hard link",
};

/** A file as the file list and the search return it (RepositoryFile over JSON: the same fields). */
export type FileRow = RepositoryFile;

/** Paths per page of a package's file list (the server page loads the first, the browser the rest). */
export const FILES_PER_PAGE = 200;

/** One page of a package's file list: listPackageFiles' result. */
export interface FilePage {
  files: FileRow[];
  total: number;
  next: string | null;
}

/** One page of a revision-wide search: searchRevisionFiles' result. */
export interface FileSearchPage {
  matches: Array<FileRow & { package: { category: string; name: string; version: string } }>;
  next: string | null;
}
