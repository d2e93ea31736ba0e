// Personal access tokens: shown once, stored as sha256 (they are 256-bit random, so a fast hash is enough).
import crypto from "node:crypto";
import { and, desc, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../db";
import { apiTokens, auditLog } from "../db/schema";
import { config } from "../config";
import { ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from "../errors";
import type { Actor } from "./actor";
import { parseInput } from "../validation";
import { SCOPES, scopesOfRole, type Scope } from "./scopes";

export const TOKEN_PREFIX = "strata_pat_";

export const hashToken = (token: string) => crypto.createHash("sha256").update(token).digest("hex");

/** Days a token lives when the caller of createToken does not say (the tokens page offers this too). */
export const DEFAULT_TOKEN_DAYS = 90;

const TokenName = z.string().trim().min(1, "name is required").max(100, "name is at most 100 characters");
const TokenScopes = z
  .array(z.enum(SCOPES, { error: `each scope is one of ${SCOPES.join(", ")}` }))
  .min(1, "choose at least one scope")
  .transform((scopes) => SCOPES.filter((s) => scopes.includes(s)));
const TokenDays = z
  .number({ error: "expiresInDays must be a whole number of days" })
  .int("expiresInDays must be a whole number of days")
  .min(1, "expiresInDays must be at least 1");

/** What the API asks for: a name, the scopes and a lifetime, all stated (STRATA_TOKEN_MAX_DAYS is checked in createToken). */
export const CreateTokenBody = z
  .object({
    name: TokenName,
    scopes: TokenScopes.describe("What the token may do: read (GET), write (other customer operations), admin (admin operations; administrators only)"),
    expiresInDays: TokenDays.describe("Days until the token expires, at most STRATA_TOKEN_MAX_DAYS (365 by default)"),
  })
  .strict();

/** For code and tests: the same, with defaults (every scope the role allows, DEFAULT_TOKEN_DAYS). */
export const CreateTokenInput = z
  .object({ name: TokenName, scopes: TokenScopes.optional(), expiresInDays: TokenDays.optional() })
  .strict();

export interface TokenSummary {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const summaryColumns = {
  id: apiTokens.id,
  name: apiTokens.name,
  prefix: apiTokens.prefix,
  scopes: apiTokens.scopes,
  createdAt: apiTokens.createdAt,
  expiresAt: apiTokens.expiresAt,
  lastUsedAt: apiTokens.lastUsedAt,
  revokedAt: apiTokens.revokedAt,
};

const asSummary = (row: Omit<TokenSummary, "scopes"> & { scopes: string[] }): TokenSummary => ({
  ...row,
  scopes: SCOPES.filter((s) => row.scopes.includes(s)),
});

/**
 * Creates a token for the actor. Only a signed-in person may: a token cannot mint tokens (it could outlive or outrank
 * itself). The admin scope is for administrators; every token expires within STRATA_TOKEN_MAX_DAYS.
 */
export async function createToken(db: DbOrTx, actor: Actor, input: unknown): Promise<{ token: string; summary: TokenSummary }> {
  if (actor.via !== "session")
    throw new ForbiddenError("API tokens cannot create tokens. Sign in to the portal and create one under Settings → API tokens.");
  const data = parseInput(CreateTokenInput, input);
  const allowed = scopesOfRole(actor.user.role);
  const scopes = data.scopes ?? allowed;
  if (scopes.includes("admin") && !allowed.includes("admin")) throw new ForbiddenError("Only administrators can create tokens with the admin scope.");
  const maxDays = config.tokenMaxDays;
  const days = data.expiresInDays ?? Math.min(DEFAULT_TOKEN_DAYS, maxDays);
  if (days > maxDays) {
    const message = `expiresInDays must be at most ${maxDays} (STRATA_TOKEN_MAX_DAYS); make a new token when this one expires.`;
    throw new ValidationError(message, { issues: [{ path: "expiresInDays", message }] });
  }
  const token = TOKEN_PREFIX + crypto.randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + days * 86_400_000);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(apiTokens)
      .values({ userId: actor.user.id, orgId: actor.org.id, name: data.name, prefix: token.slice(0, TOKEN_PREFIX.length + 6), tokenHash: hashToken(token), expiresAt, scopes })
      .returning(summaryColumns);
    await tx.insert(auditLog).values({ orgId: actor.org.id, actorUserId: actor.user.id, action: "token.create", subject: row.id, detail: { name: data.name, scopes, expiresAt } });
    return { token, summary: asSummary(row) };
  });
}

export async function listTokens(db: DbOrTx, actor: Actor): Promise<TokenSummary[]> {
  const rows = await db.select(summaryColumns).from(apiTokens).where(eq(apiTokens.userId, actor.user.id)).orderBy(desc(apiTokens.createdAt));
  return rows.map(asSummary);
}

export async function revokeToken(db: DbOrTx, actor: Actor, id: string): Promise<void> {
  if (!z.uuid().safeParse(id).success) throw new NotFoundError("No such token.");
  await db.transaction(async (tx) => {
    const rows = await tx
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiTokens.id, id), eq(apiTokens.userId, actor.user.id), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id });
    if (rows.length === 0) throw new NotFoundError("No such token, or it is already revoked.");
    await tx.insert(auditLog).values({ orgId: actor.org.id, actorUserId: actor.user.id, action: "token.revoke", subject: id });
  });
}

/** Resolves a bearer token to its user id, refusing unknown, revoked and expired tokens with a message saying which. */
export async function authenticateToken(db: DbOrTx, token: string): Promise<{ userId: string; tokenId: string }> {
  if (!token.startsWith(TOKEN_PREFIX)) throw new UnauthenticatedError("The API token is malformed: Strata tokens start with strata_pat_.");
  const [row] = await db
    .select({ id: apiTokens.id, userId: apiTokens.userId, expiresAt: apiTokens.expiresAt, revokedAt: apiTokens.revokedAt, lastUsedAt: apiTokens.lastUsedAt })
    .from(apiTokens)
    .where(eq(apiTokens.tokenHash, hashToken(token)));
  if (!row) throw new UnauthenticatedError("The API token is not valid.");
  if (row.revokedAt) throw new UnauthenticatedError("The API token has been revoked.");
  if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) throw new UnauthenticatedError("The API token has expired.");
  // Record use at most once a minute, to keep reads from turning into writes on every call.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, row.id));
  }
  return { userId: row.userId, tokenId: row.id };
}
