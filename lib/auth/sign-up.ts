// Sign-up: a new organisation and its first customer, in one transaction.
import { eq } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../db";
import { auditLog, orgs, users } from "../db/schema";
import { config } from "../config";
import { ConflictError, RateLimitedError, ValidationError } from "../errors";
import { parseInput } from "../validation";
import { hashPassword, passwordWeakness } from "./password";
import { takeAttempt, tryAgainIn } from "./rate-limit";

export const EmailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, "email is at most 254 characters")
  .pipe(z.email("email is not a valid e-mail address"));

export const SignUpInput = z
  .object({
    email: EmailSchema,
    name: z.string().trim().min(1, "name is required").max(100, "name is at most 100 characters"),
    organisation: z.string().trim().min(2, "organisation needs at least 2 characters").max(100, "organisation is at most 100 characters"),
    password: z.string().max(256, "password is at most 256 characters"),
  })
  .strict();

/** A slug for image references: lower-case, [a-z0-9-], made unique with a short suffix when taken. */
export function slugify(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  return slug || "org";
}

export async function uniqueSlug(db: DbOrTx, name: string): Promise<string> {
  const base = slugify(name);
  for (let i = 0; i < 20; i++) {
    const candidate = i === 0 ? base : `${base}-${Math.random().toString(36).slice(2, 6)}`;
    const [taken] = await db.select({ id: orgs.id }).from(orgs).where(eq(orgs.slug, candidate));
    if (!taken) return candidate;
  }
  throw new ConflictError("Could not find a free organisation slug; choose another organisation name.");
}

/**
 * Creates the organisation and its first customer. `address` (the client's, for the public route) is held to
 * STRATA_SIGN_UP_MAX_PER_ADDRESS sign-ups an hour, counted before any work is done.
 */
export async function signUp(db: DbOrTx, input: unknown, opts: { address?: string } = {}): Promise<{ userId: string; orgId: string; orgSlug: string }> {
  if (opts.address !== undefined) {
    const limit = config.signUp;
    const taken = await takeAttempt(db, `sign-up-address:${opts.address}`, { kind: "window", max: limit.maxPerAddress, windowSeconds: limit.windowSeconds });
    if (!taken.ok) throw new RateLimitedError(`Too many sign-ups from your network. ${tryAgainIn(taken.retryAfterSeconds)}`, taken.retryAfterSeconds);
  }
  const data = parseInput(SignUpInput, input);
  const weakness = passwordWeakness(data.password, data.email);
  if (weakness) throw new ValidationError(`password: ${weakness}`, { issues: [{ path: "password", message: weakness }] });
  const passwordHash = await hashPassword(data.password);
  try {
    return await db.transaction(async (tx) => {
      const [existing] = await tx.select({ id: users.id }).from(users).where(eq(users.email, data.email));
      if (existing) throw new ConflictError("An account with this e-mail already exists. Sign in instead.");
      const slug = await uniqueSlug(tx, data.organisation);
      const [org] = await tx.insert(orgs).values({ name: data.organisation, slug }).returning();
      const [user] = await tx.insert(users).values({ orgId: org.id, email: data.email, name: data.name, passwordHash, role: "customer" }).returning();
      await tx.insert(auditLog).values({ orgId: org.id, actorUserId: user.id, action: "org.sign-up", subject: org.id });
      return { userId: user.id, orgId: org.id, orgSlug: org.slug };
    });
  } catch (err) {
    // Two sign-ups racing for the same e-mail: the unique index decides.
    if ((err as { code?: string }).code === "23505" || (err as { cause?: { code?: string } }).cause?.code === "23505")
      throw new ConflictError("An account with this e-mail already exists. Sign in instead.");
    throw err;
  }
}
