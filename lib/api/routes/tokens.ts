// Personal access tokens: made in a signed-in session, shown once, scoped, expiring, revocable.
import { z } from "zod";
import { idParams, route, timestamp, uuid } from "../spec";
import { SCOPES } from "../../auth/scopes";
import { CreateTokenBody } from "../../auth/tokens";

export const TokenItem = z.object({
  id: uuid,
  name: z.string(),
  prefix: z.string().describe("The token's first characters, to tell tokens apart"),
  scopes: z.array(z.enum(SCOPES)).describe("What the token may do"),
  createdAt: timestamp,
  expiresAt: timestamp.nullable().describe("When it stops working (null only for tokens made before every token expired)"),
  lastUsedAt: timestamp.nullable().describe("Its last use (recorded at most once a minute); null: never used"),
  revokedAt: timestamp.nullable(),
});

export const listTokens = route({
  method: "GET",
  path: "/api/v1/tokens",
  summary: "Your API tokens, newest first",
  tags: ["account"],
  role: "customer",
  response: z.object({ tokens: z.array(TokenItem) }),
});

export const createToken = route({
  method: "POST",
  path: "/api/v1/tokens",
  summary: "Create an API token; the token is shown once. Needs a signed-in session: a token cannot create tokens",
  tags: ["account"],
  role: "customer",
  body: CreateTokenBody,
  response: TokenItem.extend({ token: z.string().describe("strata_pat_…: send it as `Authorization: Bearer <token>`; it is not shown again") }),
  status: 201,
  errors: { 403: "Called with a token, or the admin scope asked for by a customer", 422: "A field is missing or out of range" },
});

export const revokeToken = route({
  method: "DELETE",
  path: "/api/v1/tokens/{id}",
  summary: "Revoke one of your API tokens: it stops working at once",
  tags: ["account"],
  role: "customer",
  params: idParams,
  notFound: "No such token.",
  status: 204,
  errors: { 404: "No such token, or it is revoked already" },
});
