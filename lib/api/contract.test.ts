// The API contract cannot drift: every route file under app/api exports handlers made by withApi from a declaration,
// each declaration's method and path are those of its export and file, the generated OpenAPI document has every one
// of them, and the document declares nothing that no route file serves.
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openApiDocument } from "./openapi";
import { allRoutes } from "./routes";
import type { RouteSpec } from "./spec";

const ROOT = path.resolve(import.meta.dirname, "../..");
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** Route files that are not part of the declared API, each with the reason. Nothing else may be left out. */
const EXCLUDED: Record<string, string> = {
  "app/api/auth/[...nextauth]/route.ts": "next-auth's own handler (its sign-in, callback and session endpoints are next-auth's protocol, not Strata's REST API)",
};

/** Every app/api/**\/route.ts, relative to the checkout, with "/" separators. */
function routeFiles(): string[] {
  return fs
    .readdirSync(path.join(ROOT, "app/api"), { recursive: true, encoding: "utf8" })
    .map((f) => f.split(path.sep).join("/"))
    .filter((f) => f === "route.ts" || f.endsWith("/route.ts"))
    .map((f) => `app/api/${f}`)
    .sort();
}

/** "app/api/v1/flavours/[id]/route.ts" → "/api/v1/flavours/{id}"; a catch-all "[...x]" (or "[[...x]]") → "{x}". */
function pathOfFile(file: string): string {
  return (
    "/" +
    file
      .replace(/^app\//, "")
      .replace(/\/route\.ts$/, "")
      .split("/")
      // Route groups "(name)" are not part of the URL.
      .filter((segment) => !/^\(.*\)$/.test(segment))
      .map((segment) => segment.replace(/^\[{1,2}(?:\.\.\.)?([^\]]+)\]{1,2}$/, "{$1}"))
      .join("/")
  );
}

interface Served {
  file: string;
  method: (typeof METHODS)[number];
  spec: RouteSpec | undefined;
}

let served: Served[] = [];
let filesWithoutMethods: string[] = [];
const doc = () => openApiDocument() as { paths: Record<string, Record<string, unknown>> };

beforeAll(async () => {
  served = [];
  filesWithoutMethods = [];
  for (const file of routeFiles()) {
    if (file in EXCLUDED) continue;
    const mod = (await import(path.join(ROOT, file))) as Record<string, unknown>;
    const methods = METHODS.filter((m) => typeof mod[m] === "function");
    if (methods.length === 0) filesWithoutMethods.push(file);
    for (const method of methods) served.push({ file, method, spec: (mod[method] as { spec?: RouteSpec }).spec });
  }
}, 120_000);

describe("pathOfFile", () => {
  it.each([
    ["app/api/v1/flavours/[id]/route.ts", "/api/v1/flavours/{id}"],
    ["app/api/v1/flavours/[id]/repository/[number]/packages/[category]/[name]/files/route.ts", "/api/v1/flavours/{id}/repository/{number}/packages/{category}/{name}/files"],
    ["app/api/v1/flavours/[id]/repository/[number]/index.json/route.ts", "/api/v1/flavours/{id}/repository/{number}/index.json"],
    ["app/api/v1/files/[...path]/route.ts", "/api/v1/files/{path}"],
    ["app/api/(internal)/health/route.ts", "/api/health"],
  ])("%s → %s", (file, expected) => expect(pathOfFile(file)).toBe(expected));
});

describe("the API contract", () => {
  it("finds the route files and leaves out only the named exclusions", () => {
    const files = routeFiles();
    expect(files.length).toBeGreaterThan(40);
    for (const excluded of Object.keys(EXCLUDED)) expect(files, `${excluded} is excluded but no longer exists: drop it from EXCLUDED`).toContain(excluded);
    expect(filesWithoutMethods, "route files that export no GET/POST/PUT/PATCH/DELETE").toEqual([]);
  });

  it("declares every exported method of every route file, at the file's path, and documents it", () => {
    const paths = doc().paths;
    const problems: string[] = [];
    for (const { file, method, spec } of served) {
      const where = `${method} in ${file}`;
      if (!spec) {
        problems.push(`${where}: no declaration — export withApi(routes.<name>, …) with a route() from lib/api/routes`);
        continue;
      }
      if (spec.method !== method) problems.push(`${where}: its declaration says ${spec.method}`);
      const expected = pathOfFile(file);
      if (spec.path !== expected) problems.push(`${where}: its declaration's path is ${spec.path}, the file serves ${expected}`);
      if (!allRoutes.includes(spec)) problems.push(`${where}: its declaration (${spec.method} ${spec.path}) is not in allRoutes — add its module to lib/api/routes/index.ts`);
      if (!paths[expected]?.[method.toLowerCase()]) problems.push(`${where}: the OpenAPI document has no ${method} ${expected}`);
    }
    expect(problems, `Undeclared or mis-declared routes:\n${problems.join("\n")}`).toEqual([]);
  });

  it("has no two declarations of one method and path", () => {
    const seen = new Map<string, number>();
    for (const spec of allRoutes) seen.set(`${spec.method} ${spec.path}`, (seen.get(`${spec.method} ${spec.path}`) ?? 0) + 1);
    const twice = [...seen].filter(([, n]) => n > 1).map(([key, n]) => `${key} (${n} declarations)`);
    expect(twice, `Declared more than once:\n${twice.join("\n")}`).toEqual([]);
  });

  it("declares nothing that no route file serves (no stale declarations)", () => {
    const stale = allRoutes
      .filter((spec) => !served.some((s) => s.spec === spec || (s.method === spec.method && pathOfFile(s.file) === spec.path)))
      .map((spec) => `${spec.method} ${spec.path}`);
    expect(stale, `Declared, but no app/api/**/route.ts exports it:\n${stale.join("\n")}`).toEqual([]);
  });

  it("documents every declared operation, and only those", () => {
    const documented = Object.entries(doc().paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(documented.sort()).toEqual(allRoutes.map((s) => `${s.method} ${s.path}`).sort());
  });
});
