// The one zod schema of a package definition and of a manifest; used by the editor, the API, the importer and the builder.
import { z } from "zod";
import { pathPatternProblems } from "./path-pattern";

export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
/** A package id, "category/name": how requires, exclusions and trees name a package. */
export const PACKAGE_ID_PATTERN = /^[a-z0-9][a-z0-9-]*\/[a-z0-9][a-z0-9-]*$/;
const name = (what: string) =>
  z
    .string()
    .min(1, `${what} is required`)
    .max(64, `${what} is at most 64 characters`)
    .regex(NAME_PATTERN, `${what} may only contain a-z, 0-9 and '-' and must start with a letter or digit`);

/** Limits: a single overlay file and all overlay files of one package. */
export const MAX_FILE_BYTES = 1024 * 1024;
export const MAX_PACKAGE_FILES_BYTES = 4 * 1024 * 1024;
export const MAX_STEPS = 200;
export const MAX_FILES = 200;

const FORBIDDEN_ROOTS = ["/proc", "/sys", "/dev"];

export const OverlayPathSchema = z
  .string()
  .min(1, "path is required")
  .max(4096)
  .refine((p) => p.startsWith("/"), "path must be absolute (start with /)")
  .refine((p) => !p.split("/").includes(".."), "path must not contain '..'")
  .refine((p) => !p.includes("\0"), "path must not contain NUL")
  .refine((p) => !p.endsWith("/"), "path must name a file, not a directory")
  .refine(
    (p) => !FORBIDDEN_ROOTS.some((root) => p === root || p.startsWith(root + "/")),
    "path must not point into /proc, /sys or /dev",
  );

export const ModeSchema = z
  .string()
  .regex(/^0?[0-7]{3,4}$/, "mode must be octal between 0000 and 7777, e.g. \"0644\"");

export const OverlayFileSchema = z
  .object({
    path: OverlayPathSchema,
    mode: ModeSchema.default("0644"),
    content: z
      .string()
      .refine((c) => Buffer.byteLength(c, "utf8") <= MAX_FILE_BYTES, "file content is larger than 1 MiB"),
  })
  .strict();

export const PackageDefinitionSchema = z
  .object({
    category: name("category"),
    name: name("name"),
    // YAML reads `version: 1` as a number; a version is text, so numbers are taken as written.
    version: z.preprocess((v) => (typeof v === "number" ? String(v) : v), z.string().min(1, "version is required").max(128)),
    description: z.string().max(2000).default(""),
    /** "category/name" of packages earlier in the manifest. */
    requires: z
      .array(z.string().regex(PACKAGE_ID_PATTERN, "requires entries are category/name"))
      .max(100)
      .refine((ids) => new Set(ids).size === ids.length, "requires lists a package twice")
      .default([]),
    steps: z.array(z.string().min(1, "a step must not be empty").max(16384)).max(MAX_STEPS).default([]),
    files: z.array(OverlayFileSchema).max(MAX_FILES).default([]),
    /** Regexes (RE2 syntax) on artefact paths: only matching paths are kept (empty = all). */
    includes: z.array(z.string()).max(100).default([]),
    /** Regexes (RE2 syntax) on artefact paths: matching paths are dropped. */
    excludes: z.array(z.string()).max(100).default([]),
  })
  .strict()
  .superRefine((pkg, ctx) => {
    const total = pkg.files.reduce((sum, f) => sum + Buffer.byteLength(f.content, "utf8"), 0);
    if (total > MAX_PACKAGE_FILES_BYTES) {
      ctx.addIssue({ code: "custom", path: ["files"], message: "overlay files of one package exceed 4 MiB in total" });
    }
    // RE2 patterns, matched in linear time; what cannot be (backreferences, lookaround, huge programs) is refused here.
    for (const problem of pathPatternProblems(`${pkg.category}/${pkg.name}`, pkg)) {
      ctx.addIssue({ code: "custom", path: problem.index === undefined ? [problem.key] : [problem.key, problem.index], message: problem.message });
    }
  });

export type PackageDefinition = z.output<typeof PackageDefinitionSchema>;
export type PackageDefinitionInput = z.input<typeof PackageDefinitionSchema>;
export type OverlayFile = z.output<typeof OverlayFileSchema>;

export const ManifestHeaderSchema = z
  .object({
    name: name("manifest name"),
    version: z.preprocess((v) => (typeof v === "number" ? String(v) : v), z.string().min(1).max(64)),
    /** Image the first package builds on; the default Debian base is made locally when absent. */
    base_image: z.string().min(1).max(512),
    description: z.string().max(2000).default(""),
  })
  .strict();

export const ManifestSchema = ManifestHeaderSchema.extend({
  packages: z.array(PackageDefinitionSchema).min(1, "a manifest needs at least one package").max(200),
}).strict();

export type Manifest = z.output<typeof ManifestSchema>;
export type ManifestHeader = z.output<typeof ManifestHeaderSchema>;

export const packageId = (p: { category: string; name: string }) => `${p.category}/${p.name}`;
