import { Readable } from "node:stream";
import { withApi } from "@/lib/api/with-api";
import { revisionNumber } from "@/lib/api/params";
import { BadRequestError } from "@/lib/errors";
import { exportRevisionLuet, exportRevisionYaml } from "@/lib/flavours/transfer";

/** ?format=yaml (default): the flavour document; ?format=luet: a tar of definition.yaml + build.yaml per package. */
export const GET = withApi({ role: "customer" }, async ({ db, actor, params, req }) => {
  const format = new URL(req.url).searchParams.get("format") ?? "yaml";
  const number = revisionNumber(params.number);
  if (format === "yaml") {
    const { filename, yaml } = await exportRevisionYaml(db, actor, params.id, number);
    return new Response(yaml, { headers: { "content-type": "application/yaml; charset=utf-8", "content-disposition": `attachment; filename="${filename}"` } });
  }
  if (format === "luet") {
    const { filename, stream } = await exportRevisionLuet(db, actor, params.id, number);
    return new Response(Readable.toWeb(stream) as ReadableStream, { headers: { "content-type": "application/x-tar", "content-disposition": `attachment; filename="${filename}"` } });
  }
  throw new BadRequestError('format must be "yaml" or "luet".');
});
