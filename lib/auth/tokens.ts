// Personal access tokens: shown once, stored as sha256 (they are 256-bit random, so a fast hash is enough).
import crypto from "node:crypto";
import { and, desc, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../db";
import { apiTokens, auditLog } from "../db/schema";
import { NotFoundError, UnauthenticatedError } from "../errors";
import type { Actor } from "./actor";
import { parseInput } from "../validation";

export const TOKEN_PREFIX = "strata_pat_";

export const hashToken = (token: string) => crypto.createHash("sha256").update(token).digest("hex");

export const CreateTokenInput = z
  .object({
    name: z.string().trim().min(1, "name is required").max(100, "name is at most 100 characters"),
    /** Days until the token expires; omitted = never. */
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict();

export interface TokenSummary {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const summaryColumns = {
  id: apiTokens.id,
  name: apiTokens.name,
  prefix: apiTokens.prefix,
  createdAt: apiTokens.createdAt,
  expiresAt: apiTokens.expiresAt,
  lastUsedAt: apiTokens.lastUsedAt,
  revokedAt: apiTokens.revokedAt,
};

export async function createToken(db: DbOrTx, actor: Actor, input: unknown): Promise<{ token: string; summary: TokenSummary }> {
  const { name, expiresInDays } = parseInput(CreateTokenInput, input);
  const token = TOKEN_PREFIX + crypto.randomBytes(32).toString("base64url");
  const expiresAt = expiresInDays ? new Date(Date.now() + expiresInDays * 86_400_000) : null;
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(apiTokens)
      .values({ userId: actor.user.id, orgId: actor.org.id, name, prefix: token.slice(0, TOKEN_PREFIX.length + 6), tokenHash: hashToken(token), expiresAt })
      .returning(summaryColumns);
    await tx.insert(auditLog).values({ orgId: actor.org.id, actorUserId: actor.user.id, action: "token.create", subject: row.id, detail: { name } });
    return { token, summary: row };
  });
}

export function listTokens(db: DbOrTx, actor: Actor): Promise<TokenSummary[]> {
  return db.select(summaryColumns).from(apiTokens).where(eq(apiTokens.userId, actor.user.id)).orderBy(desc(apiTokens.createdAt));
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
