// Export a flavour revision (YAML document, or a luet-style tree in a tar) and import one back as a new flavour.
import { z } from "zod";
import { stringify } from "yaml";
import type { Db, DbOrTx } from "../db";
import type { BaseManifest } from "../db/schema";
import type { Actor } from "../auth/actor";
import { ValidationError } from "../errors";
import { canonicalJson } from "../manifest/hash";
import { importLuetTar, luetTarStream } from "../manifest/luet";
import { parseYamlWithSchema } from "../manifest/parse";
import { packageId, type Manifest, type PackageDefinition } from "../manifest/schema";
import { packageObject } from "../manifest/yaml";
import { findBaseManifest, listBaseManifests, getBaseManifest } from "../base-manifests/base-manifests";
import { parseInput } from "../validation";
import { FlavourNameSchema, getRevision, getFlavourRow, insertFlavour } from "./flavours";
import { validateExclusions, validateLayers } from "./validate-layers";

export const FLAVOUR_DOCUMENT_KIND = "strata/flavour";

/** The exported YAML of a revision: which base it sits on, the base packages it leaves out and its layers: everything needed to recreate it elsewhere. */
export const FlavourDocumentSchema = z
  .object({
    kind: z.literal(FLAVOUR_DOCUMENT_KIND, { error: `kind must be "${FLAVOUR_DOCUMENT_KIND}"` }),
    name: FlavourNameSchema,
    description: z.string().max(2000).default(""),
    base: z.object({ name: z.string().min(1), version: z.string().min(1) }).strict(),
    revision: z.number().int().positive().optional(),
    message: z.string().max(500).optional(),
    /** Base packages ("category/name") the revision leaves out; checked by validateExclusions. */
    excludedPackages: z.array(z.unknown()).default([]),
    layers: z.array(z.unknown()).default([]),
  })
  .strict();

export const ImportFlavourInput = z
  .object({
    yaml: z.string().max(32 * 1024 * 1024).optional(),
    /** A luet-style tree as exported, base64-encoded. */
    luetTarBase64: z.string().max(48 * 1024 * 1024).optional(),
    /** Overrides the name in the document (e.g. when it is taken). */
    name: FlavourNameSchema.optional(),
    description: z.string().trim().max(2000).optional(),
  })
  .strict()
  .refine((v) => (v.yaml === undefined) !== (v.luetTarBase64 === undefined), "send either yaml or luetTarBase64");

export async function exportRevisionYaml(db: DbOrTx, actor: Actor, flavourId: string, number: number): Promise<{ filename: string; yaml: string }> {
  const flavour = await getFlavourRow(db, actor, flavourId);
  const revision = await getRevision(db, actor, flavourId, number);
  const document = {
    kind: FLAVOUR_DOCUMENT_KIND,
    name: flavour.name,
    description: flavour.description,
    base: { name: revision.base.name, version: revision.base.version },
    revision: revision.number,
    message: revision.message,
    // Only when some are left out, so the document of a flavour that keeps the whole base reads as before.
    ...(revision.excludedPackages.length ? { excludedPackages: revision.excludedPackages } : {}),
    layers: revision.layers.map(packageObject),
  };
  return { filename: `${flavour.name}-r${revision.number}.yaml`, yaml: stringify(document, { lineWidth: 0, blockQuote: "literal" }) };
}

/** The revision as one manifest (the base packages it keeps, then layers), named after the flavour. */
export async function revisionManifest(db: DbOrTx, actor: Actor, flavourId: string, number: number): Promise<Manifest> {
  const flavour = await getFlavourRow(db, actor, flavourId);
  const revision = await getRevision(db, actor, flavourId, number);
  return {
    name: flavour.name,
    version: `r${revision.number}`,
    base_image: revision.base.header.base_image,
    description: `${flavour.description ? `${flavour.description} — ` : ""}on ${revision.base.name} ${revision.base.version}`.slice(0, 2000),
    packages: revision.packages,
  };
}

export async function exportRevisionLuet(db: DbOrTx, actor: Actor, flavourId: string, number: number) {
  const manifest = await revisionManifest(db, actor, flavourId, number);
  return { filename: `${manifest.name}-${manifest.version}.tar`, stream: luetTarStream(manifest) };
}

/**
 * How a full package list starts with `base` when some base packages may be left out: the longest run of leading
 * packages that equal base packages in base order (a subsequence of the base). The base packages it skips are
 * the ones left out; the rest of the list are layers. Null when not even the first package is from this base.
 */
export function matchBase(base: readonly PackageDefinition[], packages: readonly PackageDefinition[]): { matched: number; excludedPackages: string[] } | null {
  const excluded: string[] = [];
  let next = 0;
  let matched = 0;
  for (const pkg of packages) {
    const at = base.findIndex((p, i) => i >= next && packageId(p) === packageId(pkg));
    if (at < 0 || canonicalJson(base[at]) !== canonicalJson(pkg)) break;
    excluded.push(...base.slice(next, at).map(packageId));
    next = at + 1;
    matched++;
  }
  if (matched === 0) return null;
  excluded.push(...base.slice(next).map(packageId));
  return { matched, excludedPackages: excluded };
}

/**
 * Which base manifest a full package list is built on: the base matching most leading packages (see matchBase).
 * Equal candidates (a base republished unchanged under a new version, or an older base the list also fits) are
 * told apart by the "on <name> <version>" our export writes into the description, then by fewer left-out
 * packages; otherwise the newest wins.
 */
async function splitOnBase(db: DbOrTx, manifest: Manifest) {
  const packages = manifest.packages;
  const candidates: Array<{ base: BaseManifest; matched: number; excludedPackages: string[] }> = [];
  for (const summary of await listBaseManifests(db)) {
    const base = await getBaseManifest(db, summary.id);
    const match = matchBase(base.packages, packages);
    if (match) candidates.push({ base, ...match });
  }
  if (candidates.length === 0) throw new ValidationError("No base manifest on this Strata matches the first packages of this tree; publish its base manifest first.");
  const named = (c: BaseManifest) => (manifest.description.endsWith(`on ${c.name} ${c.version}`) ? 1 : 0);
  const best = candidates.sort(
    (a, b) =>
      b.matched - a.matched ||
      named(b.base) - named(a.base) ||
      a.excludedPackages.length - b.excludedPackages.length ||
      b.base.createdAt.getTime() - a.base.createdAt.getTime(),
  )[0];
  return { base: best.base, excludedPackages: best.excludedPackages, layers: packages.slice(best.matched) };
}

export async function importFlavour(db: Db, actor: Actor, input: unknown) {
  const data = parseInput(ImportFlavourInput, input);
  if (data.yaml !== undefined) {
    const parsed = parseYamlWithSchema(data.yaml, FlavourDocumentSchema);
    if (!parsed.ok) {
      const first = parsed.errors[0];
      throw new ValidationError(`${first.line ? `line ${first.line}: ` : ""}${first.path ? `${first.path}: ` : ""}${first.message}`, { issues: parsed.errors });
    }
    const doc = parsed.value;
    const base = await findBaseManifest(db, doc.base.name, doc.base.version);
    if (!base) throw new ValidationError(`base: ${doc.base.name} ${doc.base.version} is not a base manifest on this Strata.`);
    const layers = validateLayers(base.packages, { layers: doc.layers });
    const excludedPackages = validateExclusions(base.packages, layers, doc.excludedPackages, `${base.name} ${base.version}`);
    return insertFlavour(db, actor, {
      name: data.name ?? doc.name,
      description: data.description ?? doc.description,
      base,
      layers,
      excludedPackages,
      message: `Imported from ${doc.name}${doc.revision ? ` revision ${doc.revision}` : ""}`,
    });
  }
  let manifest: Manifest;
  try {
    manifest = await importLuetTar(Buffer.from(data.luetTarBase64!, "base64"));
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(`luetTarBase64: not a readable tar (${(err as Error).message})`);
  }
  const { base, layers, excludedPackages } = await splitOnBase(db, manifest);
  const checked = validateLayers(base.packages, { layers });
  // A tree that lacks a base package the platform needs, or one its packages require, is refused here by name.
  const excluded = validateExclusions(base.packages, checked, excludedPackages, `${base.name} ${base.version}`);
  const name = parseInput(FlavourNameSchema, data.name ?? manifest.name);
  return insertFlavour(db, actor, {
    name,
    description: data.description ?? "",
    base,
    layers: checked,
    excludedPackages: excluded,
    message: `Imported from a luet tree (${manifest.name} ${manifest.version})`,
  });
}
