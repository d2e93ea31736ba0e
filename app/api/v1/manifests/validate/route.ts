import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/manifests";
import { getBaseManifest } from "@/lib/base-manifests/base-manifests";
import { parseLayersYaml, parseManifestYaml, parsePackageYaml } from "@/lib/manifest/parse";

/** Validates YAML without saving anything: errors carry line, column and field, for editors and CI. */
export const POST = withApi(routes.validate, async ({ db, body }) => {
  const result =
    body.kind === "manifest"
      ? parseManifestYaml(body.yaml)
      : body.kind === "package"
        ? parsePackageYaml(body.yaml)
        : parseLayersYaml(body.yaml, { base: body.baseManifestId ? (await getBaseManifest(db, body.baseManifestId)).packages : undefined });
  return result.ok ? { ok: true as const, value: result.value } : { ok: false as const, errors: result.errors };
});
