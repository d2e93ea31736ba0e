// Calling a route handler directly, as Next would, and walking a paged list through it: shared by the integration
// tests of the lists that grow.
import { expect } from "vitest";

export type RouteHandler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

/** One GET with a bearer token; the body parsed as JSON. */
export async function callRoute(handler: RouteHandler, path: string, bearer: string, params: Record<string, string> = {}) {
  const res = await handler(new Request(`https://localhost${path}`, { headers: { authorization: `Bearer ${bearer}` } }), { params: Promise.resolve(params) });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test reads the fields of its own list
  return { status: res.status, link: res.headers.get("link"), body: (await res.json()) as any };
}

/**
 * Follows `next` from the first page to the last, checking each page's Link header, and returns the items under `key`
 * in the order shown. `between` runs after each page (inserts that must neither repeat nor hide an item).
 */
export async function walkPages(handler: RouteHandler, path: string, key: string, bearer: string, params: Record<string, string> = {}, between?: () => Promise<void>) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  const items: any[] = [];
  let url = path;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await callRoute(handler, url, bearer, params);
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    items.push(...page.body[key]);
    if (page.body.next === null) {
      expect(page.link).toBeNull();
      return items;
    }
    const next = new URL(url, "https://localhost");
    next.searchParams.set("cursor", page.body.next);
    expect(page.link).toBe(`<${next.pathname}${next.search}>; rel="next"`);
    url = `${next.pathname}${next.search}`;
    await between?.();
  }
  throw new Error("more than 1000 pages");
}
