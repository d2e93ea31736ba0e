// The generated OpenAPI document is valid OpenAPI 3.1 and complete enough to generate a client from: unique operation
// ids, a summary and a success response on every operation, JSON schemas on JSON responses, declared path
// parameters matching the path, and references that resolve.
import { describe, expect, it } from "vitest";
import { Validator } from "@seriousme/openapi-schema-validator";
import { openApiDocument, operationId } from "./openapi";
import { allRoutes } from "./routes";
import { isRawResponse } from "./spec";

type Operation = {
  operationId?: string;
  summary?: string;
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};
const HTTP = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

const doc = openApiDocument() as { openapi: string; servers: Array<{ url: string }>; paths: Record<string, Record<string, Operation>> };
const operations = Object.entries(doc.paths).flatMap(([p, item]) =>
  Object.entries(item)
    .filter(([m]) => HTTP.includes(m))
    .map(([m, op]) => ({ key: `${m.toUpperCase()} ${p}`, path: p, method: m.toUpperCase(), op })),
);
const specOf = (method: string, p: string) => allRoutes.find((s) => s.method === method && s.path === p);

describe("the OpenAPI document", () => {
  it("is valid OpenAPI 3.1", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("(the validator refuses what 3.1 forbids: a response without a description)", async () => {
    const broken = structuredClone(doc) as unknown as { paths: Record<string, Record<string, { responses: Record<string, Record<string, unknown>> }>> };
    delete broken.paths["/api/v1/me"].get.responses["200"].description;
    const result = await new Validator().validate(broken);
    expect(result.valid).toBe(false);
    expect(JSON.stringify(result.errors)).toMatch(/description/);
  });

  it("serves from the site's root, so a client's baseUrl is the site's origin", () => {
    expect(doc.servers).toEqual([{ url: "/" }]);
    expect(Object.keys(doc.paths).every((p) => p.startsWith("/api/"))).toBe(true);
  });

  it("gives every operation a unique operationId and a summary", () => {
    const missing = operations.filter(({ op }) => !op.operationId || !op.summary?.trim()).map(({ key }) => key);
    expect(missing, "operations without an operationId or summary").toEqual([]);
    const byId = new Map<string, string[]>();
    for (const { key, op } of operations) byId.set(op.operationId!, [...(byId.get(op.operationId!) ?? []), key]);
    const clashes = [...byId].filter(([, keys]) => keys.length > 1).map(([id, keys]) => `${id}: ${keys.join(", ")}`);
    expect(clashes, "operationIds used twice").toEqual([]);
  });

  it("gives every operation a success response, with a JSON schema for JSON routes and a media type for raw ones", () => {
    const problems: string[] = [];
    for (const { key, method, path, op } of operations) {
      const spec = specOf(method, path);
      const success = Object.entries(op.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
      if (success.length !== 1) {
        problems.push(`${key}: ${success.length} success responses`);
        continue;
      }
      const [status, response] = success[0];
      if (!spec) continue;
      if (status === "204") {
        if (response.content) problems.push(`${key}: 204 with content`);
      } else if (isRawResponse(spec.response)) {
        if (!response.content?.[spec.response.contentType]) problems.push(`${key}: no ${spec.response.contentType} content`);
      } else if (spec.response) {
        const schema = response.content?.["application/json"]?.schema as Record<string, unknown> | undefined;
        if (!schema || Object.keys(schema).length === 0) problems.push(`${key}: no JSON schema for its ${status} response`);
      } else {
        problems.push(`${key}: declares no response (a schema, a raw { contentType, description }, or status 204)`);
      }
      if (!op.responses?.["401"] && spec.role !== "public") problems.push(`${key}: needs sign-in but documents no 401`);
    }
    expect(problems, problems.join("\n")).toEqual([]);
  });

  it("declares exactly the path parameters each path names, as required", () => {
    const problems: string[] = [];
    for (const { key, path, op } of operations) {
      const named = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p) => p.in === "path");
      const names = declared.map((p) => p.name).sort();
      if (names.join() !== named.join()) problems.push(`${key}: the path names {${named.join("}, {")}} but declares ${names.length ? names.join(", ") : "none"}`);
      for (const p of declared) if (p.required !== true) problems.push(`${key}: path parameter ${p.name} is not required`);
    }
    expect(problems, problems.join("\n")).toEqual([]);
  });

  it("has only references that resolve inside the document", () => {
    const unresolved: string[] = [];
    const resolve = (ref: string) => {
      if (!ref.startsWith("#/")) return undefined;
      let node: unknown = doc;
      for (const part of ref.slice(2).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))) {
        if (typeof node !== "object" || node === null || !(part in node)) return undefined;
        node = (node as Record<string, unknown>)[part];
      }
      return node;
    };
    const walk = (node: unknown, where: string) => {
      if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${where}/${i}`));
      else if (typeof node === "object" && node !== null) {
        for (const [k, v] of Object.entries(node)) {
          if (k === "$ref" && typeof v === "string" && resolve(v) === undefined) unresolved.push(`${where}: ${v}`);
          else walk(v, `${where}/${k}`);
        }
      }
    };
    walk(doc, "#");
    expect(unresolved).toEqual([]);
  });

  it("names operations after their method and path", () => {
    expect(operationId({ method: "GET", path: "/api/v1/flavours/{id}/repository/{number}/index.json" })).toBe("getFlavoursByIdRepositoryByNumberIndexJson");
    expect(operationId({ method: "POST", path: "/api/v1/flavours/{id}/imports/check" })).toBe("postFlavoursByIdImportsCheck");
  });
});
