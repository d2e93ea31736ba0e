import { z } from "zod";
import { withApi } from "@/lib/api/with-api";
import { getBaseManifest } from "@/lib/base-manifests/base-manifests";
import { parseLayersYaml, parseManifestYaml, parsePackageYaml } from "@/lib/manifest/parse";

const Input = z
  .object({
    kind: z.enum(["manifest", "package", "layers"]),
    yaml: z.string().max(32 * 1024 * 1024),
    /** For kind "layers": check requires/duplicates against this base manifest too. */
    baseManifestId: z.uuid().optional(),
  })
  .strict();

/** Validates YAML without saving anything: errors carry line, column and field, for editors and CI. */
export const POST = withApi({ role: "customer", body: Input }, async ({ db, body }) => {
  const result =
    body.kind === "manifest"
      ? parseManifestYaml(body.yaml)
      : body.kind === "package"
        ? parsePackageYaml(body.yaml)
        : parseLayersYaml(body.yaml, { base: body.baseManifestId ? (await getBaseManifest(db, body.baseManifestId)).packages : undefined });
  return result.ok ? { ok: true, value: result.value } : { ok: false, errors: result.errors };
});
