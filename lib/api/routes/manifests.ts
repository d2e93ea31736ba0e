// Checking YAML without saving it: for editors and CI.
import { z } from "zod";
import { route } from "../spec";
import { MAX_YAML_CHARS } from "../../manifest/parse";
import { PackageDefinition } from "./flavours";

export const ValidateInput = z
  .object({
    kind: z.enum(["manifest", "package", "layers"]),
    yaml: z.string().max(MAX_YAML_CHARS),
    /** For kind "layers": check requires/duplicates against this base manifest too. */
    baseManifestId: z.uuid().optional().describe('For kind "layers": check requires and duplicates against this base manifest too'),
  })
  .strict();

const ParseIssue = z.object({
  path: z.string().describe('Field path, e.g. `packages[2].files[0].mode`; "" for the document itself'),
  message: z.string(),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
  package: z.string().optional().describe("`category/name` of the package the issue is in"),
});

const Manifest = z.object({
  name: z.string(),
  version: z.string(),
  base_image: z.string(),
  description: z.string().default(""),
  packages: z.array(PackageDefinition),
});

export const validate = route({
  method: "POST",
  path: "/api/v1/manifests/validate",
  summary: "Validate a manifest, a package or a list of layers (YAML) without saving anything",
  description: "Problems are not an error: the answer is 200 with `ok: false` and each problem's line, column and field.",
  tags: ["manifests"],
  role: "customer",
  body: ValidateInput,
  response: z.discriminatedUnion("ok", [
    z.object({ ok: z.literal(true), value: z.union([Manifest, PackageDefinition, z.array(PackageDefinition)]).describe("The parsed document (a manifest, a package, or layers, after `kind`)") }),
    z.object({ ok: z.literal(false), errors: z.array(ParseIssue) }),
  ]),
  errors: { 404: "No such base manifest (baseManifestId)" },
});
