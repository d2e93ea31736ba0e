// The API through a client generated from its OpenAPI document (lib/api/client.generated.ts, `npm run api:client`),
// with openapi-fetch, a bearer token and nothing else: what a script written against the document would do.
import crypto from "node:crypto";
import { expect, test, type APIRequestContext } from "@playwright/test";
import createClient from "openapi-fetch";
import type { paths } from "../lib/api/client.generated";

/**
 * openapi-fetch's requests, sent through a Playwright request context: it takes the test server's self-signed
 * certificate (ignoreHTTPSErrors), which Node's own fetch would refuse. The request itself (URL, method, headers,
 * body) is the client's, unchanged; `seen` records each URL.
 */
function viaPlaywright(context: APIRequestContext, seen: string[]) {
  return async (request: Request): Promise<Response> => {
    seen.push(request.url);
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const res = await context.fetch(request.url, { method: request.method, headers: Object.fromEntries(request.headers), data: body, maxRedirects: 0 });
    const status = res.status();
    return new Response([204, 304].includes(status) ? null : new Uint8Array(await res.body()), { status, headers: res.headers() });
  };
}

test("a client generated from the OpenAPI document calls the API with a bearer token", async ({ page, playwright, baseURL }) => {
  const origin = new URL(baseURL!).origin;

  // The document is served, and its server is the site's root: the client's baseUrl is the origin.
  const document = await (await page.request.get("/api/v1/openapi.json")).json();
  expect(document.openapi).toBe("3.1.0");
  expect(document.servers).toEqual([{ url: "/" }]);

  // A token made with the signed-in session (tokens are made by people, not by other tokens).
  const created = await page.request.post("/api/v1/tokens", { data: { name: `client-${crypto.randomUUID().slice(0, 8)}`, scopes: ["read", "write"], expiresInDays: 7 } });
  expect(created.status(), await created.text()).toBe(201);
  const { token } = (await created.json()) as { token: string };

  // A clean context: no cookies, so only the bearer token speaks.
  const context = await playwright.request.newContext({ ignoreHTTPSErrors: true });
  const seen: string[] = [];
  const client = createClient<paths>({ baseUrl: `${origin}/`, headers: { authorization: `Bearer ${token}` }, fetch: viaPlaywright(context, seen) });
  try {
    const me = await client.GET("/api/v1/me");
    expect(me.response.status).toBe(200);
    expect(me.data?.via).toBe("token");
    expect(seen[0]).toBe(`${origin}/api/v1/me`);

    // Fork a base manifest: its id from the list, the new flavour from the create.
    const bases = await client.GET("/api/v1/base-manifests");
    const base = bases.data!.baseManifests.find((b) => b.name === "strata-base") ?? bases.data!.baseManifests[0];
    expect(base, "a base manifest to fork").toBeTruthy();
    const stamp = crypto.randomUUID().slice(0, 8);
    const names = [`client-${stamp}-a`, `client-${stamp}-b`, `client-${stamp}-c`];
    const ids: string[] = [];
    for (const name of names) {
      const fork = await client.POST("/api/v1/flavours", { body: { baseManifestId: base.id, name, description: "made through the generated client" } });
      expect(fork.response.status, JSON.stringify(fork.error)).toBe(201);
      expect(fork.data!.name).toBe(name);
      ids.push(fork.data!.id);
    }

    const flavour = await client.GET("/api/v1/flavours/{id}", { params: { path: { id: ids[0] } } });
    expect(flavour.response.status).toBe(200);
    expect(flavour.data).toMatchObject({ id: ids[0], name: names[0], latest: { number: 1, base: { id: base.id } } });
    expect(Date.parse(flavour.data!.createdAt)).not.toBeNaN();
    expect(seen.at(-1)).toBe(`${origin}/api/v1/flavours/${ids[0]}`);

    // A bad uuid is a 404 with the API's message, in the typed error body.
    const missing = await client.GET("/api/v1/flavours/{id}", { params: { path: { id: "not-a-uuid" } } });
    expect(missing.response.status).toBe(404);
    expect(missing.data).toBeUndefined();
    expect(missing.error?.error).toMatchObject({ code: "not_found", message: "No such flavour." });

    // A bad body is a 422 naming the field, and creates nothing.
    const invalid = await client.POST("/api/v1/flavours", { body: { baseManifestId: base.id, name: "Not A Valid Name!" } });
    expect(invalid.response.status).toBe(422);
    expect(invalid.error?.error.code).toBe("validation_failed");
    expect(invalid.error?.error.message).toMatch(/name/);
    expect(JSON.stringify(invalid.error?.error.details)).toContain('"path":"name"');

    // The repository of a flavour that was never built: an empty page, not an error.
    const repository = await client.GET("/api/v1/flavours/{id}/repository", { params: { path: { id: ids[0] } } });
    expect(repository.response.status).toBe(200);
    expect(repository.data).toEqual({ revisions: [], next: null });

    // A paginated list, one at a time, following `next` (and the Link header) to the end: each flavour once.
    const listed: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const list = await client.GET("/api/v1/flavours", { params: { query: { q: `client-${stamp}`, limit: 1, cursor } } });
      expect(list.response.status, JSON.stringify(list.error)).toBe(200);
      listed.push(...list.data!.flavours.map((f) => f.name));
      const next = list.data!.next;
      if (!next) {
        expect(list.response.headers.get("link")).toBeNull();
        break;
      }
      expect(list.response.headers.get("link")).toContain('rel="next"');
      cursor = next;
    }
    expect(listed.sort()).toEqual([...names].sort());
  } finally {
    await context.dispose();
  }
});
