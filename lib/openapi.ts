// The OpenAPI document of /api/v1, grown with the API. Request schemas come from the same zod schemas the handlers parse with.
import { z } from "zod";
import { SignUpInput } from "./auth/sign-up";
import { CreateTokenInput } from "./auth/tokens";

type Operation = {
  summary: string;
  tags: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
};

const json = (schema: unknown) => ({ content: { "application/json": { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const err = (description: string) => ({ description, ...json(ref("Error")) });
const idParam = (name = "id", description = "id") => ({ name, in: "path", required: true, schema: { type: "string", format: "uuid" }, description });
const input = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });

const paths: Record<string, Record<string, Operation>> = {};

/** Registers operations; feature modules call this so the document grows with the API. */
export function addPaths(more: Record<string, Record<string, Operation>>) {
  for (const [path, ops] of Object.entries(more)) paths[path] = { ...paths[path], ...ops };
}

addPaths({
  "/me": {
    get: { summary: "Who you are: user, organisation, how you authenticated", tags: ["account"], responses: { 200: { description: "The actor" }, 401: err("Not signed in") } },
  },
  "/sign-up": {
    post: {
      summary: "Create an organisation and its first customer",
      tags: ["account"],
      security: [],
      requestBody: json(input(SignUpInput)),
      responses: { 201: { description: "Created" }, 400: err("Malformed JSON"), 409: err("E-mail taken"), 422: err("Invalid field or weak password") },
    },
  },
  "/tokens": {
    get: { summary: "Your personal access tokens (never the secret)", tags: ["tokens"], responses: { 200: { description: "Tokens" }, 401: err("Not signed in") } },
    post: {
      summary: "Create a personal access token; the response holds the secret, shown once",
      tags: ["tokens"],
      requestBody: json(input(CreateTokenInput)),
      responses: { 201: { description: "Created; `token` is the secret" }, 422: err("Invalid field") },
    },
  },
  "/tokens/{id}": {
    delete: { summary: "Revoke a token", tags: ["tokens"], parameters: [idParam()], responses: { 204: { description: "Revoked" }, 404: err("No such token") } },
  },
  "/orgs": {
    get: { summary: "Organisations you can see (yours; admins: all)", tags: ["orgs"], responses: { 200: { description: "Organisations" } } },
  },
  "/orgs/{id}": {
    get: { summary: "One organisation and its members", tags: ["orgs"], parameters: [idParam()], responses: { 200: { description: "Organisation" }, 404: err("Not found (or not yours)") } },
  },
});

export function openApiDocument(serverUrl: string) {
  return {
    openapi: "3.1.0",
    info: { title: "Strata API", version: "1", description: "Self-service portal for immutable Linux derivatives. Errors are `{ error: { code, message } }`." },
    servers: [{ url: `${serverUrl}/api/v1` }],
    security: [{ bearer: [] }, { session: [] }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "A personal access token (strata_pat_…)" },
        session: { type: "apiKey", in: "cookie", name: "__Secure-next-auth.session-token" },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" }, details: {} } } },
        },
      },
    },
    paths,
  };
}
