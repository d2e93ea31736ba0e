import { Readable } from "node:stream";
import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/flavours";
import { exportRevisionLuet, exportRevisionYaml } from "@/lib/flavours/transfer";

/** ?format=yaml (default): the flavour document; ?format=luet: a tar of definition.yaml + build.yaml per package. */
export const GET = withApi(routes.exportRevision, async ({ db, actor, params, query }) => {
  if (query.format === "luet") {
    const { filename, stream } = await exportRevisionLuet(db, actor, params.id, params.number);
    return new Response(Readable.toWeb(stream) as ReadableStream, { headers: { "content-type": "application/x-tar", "content-disposition": `attachment; filename="${filename}"` } });
  }
  const { filename, yaml } = await exportRevisionYaml(db, actor, params.id, params.number);
  return new Response(yaml, { headers: { "content-type": "application/yaml; charset=utf-8", "content-disposition": `attachment; filename="${filename}"` } });
});
