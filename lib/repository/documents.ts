// Responses for the documents of a revision (index, luet YAML, SBOM): derived from immutable data, so they carry an
// ETag and are cacheable for good; a client with the current ETag gets a 304.
export function immutableDocument(req: Request, bytes: Buffer, opts: { etag: string; type: string; fileName?: string }): Response {
  const etag = `"${opts.etag}"`;
  const headers = new Headers({ etag, "cache-control": "private, max-age=31536000, immutable", "content-type": opts.type, "x-content-type-options": "nosniff" });
  if (opts.fileName && new URL(req.url).searchParams.has("download")) headers.set("content-disposition", `attachment; filename="${opts.fileName.replace(/[^A-Za-z0-9._-]/g, "_")}"`);
  const ifNoneMatch = req.headers.get("if-none-match");
  if (ifNoneMatch && ifNoneMatch.split(",").some((t) => t.trim() === etag)) return new Response(null, { status: 304, headers });
  headers.set("content-length", String(bytes.length));
  return new Response(req.method === "HEAD" ? null : new Uint8Array(bytes), { status: 200, headers });
}
