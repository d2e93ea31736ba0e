// Artefacts: the compressed tar of the files one package's layer added, addressed by digest.
import { z } from "zod";
import { route } from "../spec";

export const artefact = route({
  method: "GET",
  path: "/api/v1/artefacts/{digest}",
  summary: "An artefact's bytes, streamed, with ETag (its digest), Range (206/416) and immutable caching",
  tags: ["artefacts"],
  role: "customer",
  params: z.object({ digest: z.string().describe('"sha256:" followed by 64 lowercase hex digits') }),
  notFound: "No such artefact.",
  response: { contentType: "application/zstd", description: "The artefact's bytes (application/gzip for gzip artefacts); Range gives 206" },
  errors: { 400: "The digest is not sha256:<64 hex>, or the Range is malformed", 404: "No artefact of that digest that you may read", 416: "The Range is outside the artefact" },
});
