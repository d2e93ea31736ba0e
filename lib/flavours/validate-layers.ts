// One check for layers however they arrive (JSON from the API, YAML from the editor, an import): schema, limits, order;
// and one for the base packages a revision leaves out.
import { z } from "zod";
import { PACKAGE_ID_PATTERN, PackageDefinitionSchema, type PackageDefinition } from "../manifest/schema";
import { exclusionProblems, normaliseExclusions } from "./kept-packages";
import { checkOrder } from "../manifest/order";
import { parseLayersYaml, formatPath, type ParseIssue } from "../manifest/parse";
import { ValidationError } from "../errors";
import { MAX_LAYERS, MAX_LAYERS_BYTES } from "./limits";

const LayersSchema = z.array(PackageDefinitionSchema).max(MAX_LAYERS, `a flavour holds at most ${MAX_LAYERS} layers`);

function fail(issues: ParseIssue[]): never {
  const first = issues[0];
  const where = [first.line ? `line ${first.line}` : "", first.path].filter(Boolean).join(", ");
  throw new ValidationError(`${where ? `${where}: ` : ""}${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ""}`, { issues });
}

/** Validates layers on top of `base` (the base manifest's packages). Throws ValidationError naming layer and field. */
export function validateLayers(base: PackageDefinition[], input: { layers?: unknown; layersYaml?: string }): PackageDefinition[] {
  let layers: PackageDefinition[];
  if (input.layersYaml !== undefined) {
    const parsed = parseLayersYaml(input.layersYaml, { base });
    if (!parsed.ok) fail(parsed.errors.map((e) => ({ ...e, path: e.path ? `layers${e.path.startsWith("[") ? "" : "."}${e.path}` : "layers" })));
    layers = parsed.value;
  } else {
    const parsed = LayersSchema.safeParse(input.layers ?? []);
    if (!parsed.success)
      fail(parsed.error.issues.map((i) => ({ path: formatPath(["layers", ...i.path]), message: i.message })));
    layers = parsed.data;
    const orderErrors = checkOrder([...base, ...layers]).filter((e) => e.index >= base.length);
    if (orderErrors.length)
      fail(orderErrors.map((e) => ({ path: formatPath(["layers", e.index - base.length, ...e.path.slice(1)]), message: e.message, package: e.package })));
  }
  if (layers.length > MAX_LAYERS) fail([{ path: "layers", message: `a flavour holds at most ${MAX_LAYERS} layers` }]);
  const bytes = Buffer.byteLength(JSON.stringify(layers), "utf8");
  if (bytes > MAX_LAYERS_BYTES) fail([{ path: "layers", message: `the layers add up to ${(bytes / 1048576).toFixed(1)} MiB; at most ${MAX_LAYERS_BYTES / 1048576} MiB` }]);
  return layers;
}

export const ExcludedPackagesSchema = z
  .array(z.string().regex(PACKAGE_ID_PATTERN, "excludedPackages entries are category/name, e.g. system/openssh"))
  .max(200, "excludedPackages lists at most 200 packages");

/**
 * Checks the base packages a revision leaves out against the base and the (already valid) layers: each must be a
 * base package, not essential, and required by no kept package. Returns them without repeats, in base order.
 */
export function validateExclusions(base: PackageDefinition[], layers: PackageDefinition[], excluded: unknown, baseLabel?: string): string[] {
  const parsed = ExcludedPackagesSchema.safeParse(excluded ?? []);
  if (!parsed.success) fail(parsed.error.issues.map((i) => ({ path: formatPath(["excludedPackages", ...i.path]), message: i.message })));
  const issues = exclusionProblems(base, layers, parsed.data, baseLabel);
  if (issues.length) fail(issues.map(({ path, message, package: id }) => ({ path, message, package: id })));
  return normaliseExclusions(base, parsed.data);
}
