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
import type { Manifest, PackageDefinition } from "../manifest/schema";
import { packageObject } from "../manifest/yaml";
import { findBaseManifest, listBaseManifests, getBaseManifest } from "../base-manifests/base-manifests";
import { parseInput } from "../validation";
import { FlavourNameSchema, getRevision, getFlavourRow, insertFlavour } from "./flavours";
import { validateLayers } from "./validate-layers";

export const FLAVOUR_DOCUMENT_KIND = "strata/flavour";

/** The exported YAML of a revision: which base it sits on and its layers, everything needed to recreate it elsewhere. */
export const FlavourDocumentSchema = z
  .object({
    kind: z.literal(FLAVOUR_DOCUMENT_KIND, { error: `kind must be "${FLAVOUR_DOCUMENT_KIND}"` }),
    name: FlavourNameSchema,
    description: z.string().max(2000).default(""),
    base: z.object({ name: z.string().min(1), version: z.string().min(1) }).strict(),
    revision: z.number().int().positive().optional(),
    message: z.string().max(500).optional(),
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
    layers: revision.layers.map(packageObject),
  };
  return { filename: `${flavour.name}-r${revision.number}.yaml`, yaml: stringify(document, { lineWidth: 0, blockQuote: "literal" }) };
}

/** The revision as one manifest (base packages then layers), named after the flavour. */
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
 * Which base manifest a full package list starts with: the longest base whose packages are an exact prefix.
 * Equal candidates (a base republished unchanged under a new version) are told apart by the "on <name> <version>"
 * our export writes into the description; otherwise the newest wins.
 */
async function splitOnBase(db: DbOrTx, manifest: Manifest) {
  const packages = manifest.packages;
  const candidates: BaseManifest[] = [];
  for (const summary of await listBaseManifests(db)) {
    if (summary.packageCount > packages.length) continue;
    const base = await getBaseManifest(db, summary.id);
    if (base.packages.every((p, i) => canonicalJson(p) === canonicalJson(packages[i]))) candidates.push(base);
  }
  if (candidates.length === 0) throw new ValidationError("No base manifest on this Strata matches the first packages of this tree; publish its base manifest first.");
  const longest = Math.max(...candidates.map((c) => c.packages.length));
  const best = candidates
    .filter((c) => c.packages.length === longest)
    .sort((a, b) => {
      const named = (c: BaseManifest) => (manifest.description.endsWith(`on ${c.name} ${c.version}`) ? 1 : 0);
      return named(b) - named(a) || b.createdAt.getTime() - a.createdAt.getTime();
    })[0];
  return { base: best, layers: packages.slice(best.packages.length) };
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
    return insertFlavour(db, actor, {
      name: data.name ?? doc.name,
      description: data.description ?? doc.description,
      base,
      layers,
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
  const { base, layers } = await splitOnBase(db, manifest);
  const checked = validateLayers(base.packages, { layers });
  const name = parseInput(FlavourNameSchema, data.name ?? manifest.name);
  return insertFlavour(db, actor, { name, description: data.description ?? "", base, layers: checked, message: `Imported from a luet tree (${manifest.name} ${manifest.version})` });
}
