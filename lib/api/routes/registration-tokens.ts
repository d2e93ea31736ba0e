// Registration tokens: a device joins a channel with one; shown once, revocable.
import { z } from "zod";
import { idParams, route, timestamp, uuid } from "../spec";
import { CreateRegistrationTokenInput } from "../../devices/registration-tokens";

export const RegistrationTokenItem = z.object({
  id: uuid,
  channelId: uuid,
  name: z.string(),
  prefix: z.string().describe("The token's first characters, to tell tokens apart"),
  expiresAt: timestamp.nullable(),
  maxUses: z.number().int().nullable().describe("Devices it may register; null: any number"),
  uses: z.number().int(),
  lastUsedAt: timestamp.nullable(),
  revokedAt: timestamp.nullable(),
  createdAt: timestamp,
});

export const listRegistrationTokens = route({
  method: "GET",
  path: "/api/v1/channels/{id}/registration-tokens",
  summary: "The channel's registration tokens, newest first",
  tags: ["devices"],
  role: "customer",
  params: idParams,
  notFound: "No such channel.",
  response: z.object({ tokens: z.array(RegistrationTokenItem) }),
});

export const createRegistrationToken = route({
  method: "POST",
  path: "/api/v1/channels/{id}/registration-tokens",
  summary: "Create a registration token for the channel; the token is shown once",
  tags: ["devices"],
  role: "customer",
  params: idParams,
  notFound: "No such channel.",
  body: CreateRegistrationTokenInput,
  response: z.object({ token: z.string().describe("strata_reg_…: give it to the device; it is not shown again"), summary: RegistrationTokenItem }),
  status: 201,
});

export const revokeRegistrationToken = route({
  method: "DELETE",
  path: "/api/v1/registration-tokens/{id}",
  summary: "Revoke a registration token: devices can no longer register with it",
  tags: ["devices"],
  role: "customer",
  params: idParams,
  notFound: "No such registration token.",
  status: 204,
  errors: { 404: "No such registration token, or it is revoked already" },
});
