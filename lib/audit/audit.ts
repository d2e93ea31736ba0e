// The audit log: who did what, when, and what it was before and after. Written in the transaction of the change.
import { and, desc, eq, lt, sql } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../db";
import { auditLog, orgs, users } from "../db/schema";
import type { Actor } from "../auth/actor";
import { orgScope } from "../auth/roles";
import { BadRequestError } from "../errors";
import { cursorBigintSchema, decodeCursor, toPage } from "../api/cursor";

export interface AuditEntry {
  action: string;
  subject?: string | null;
  channelId?: string | null;
  /** Org of the change; the actor's when left out (a device or the system has no actor). */
  orgId?: string;
  before?: unknown;
  after?: unknown;
  detail?: Record<string, unknown>;
}

/** Records one change; `actor` null for changes a device or Strata itself made (registration, an automatic halt). */
export async function recordAudit(tx: DbOrTx, actor: Actor | null, entry: AuditEntry): Promise<void> {
  const detail: Record<string, unknown> = { ...entry.detail };
  if (entry.before !== undefined) detail.before = entry.before;
  if (entry.after !== undefined) detail.after = entry.after;
  await tx.insert(auditLog).values({
    orgId: entry.orgId ?? actor?.org.id ?? null,
    actorUserId: actor?.user.id ?? null,
    action: entry.action,
    subject: entry.subject ?? null,
    channelId: entry.channelId ?? null,
    detail,
  });
}

export interface AuditRow {
  id: number;
  at: Date;
  action: string;
  subject: string | null;
  channelId: string | null;
  orgId: string | null;
  orgName: string | null;
  actor: string | null;
  detail: Record<string, unknown> | null;
}

const ListAuditInput = z.object({
  channelId: z.uuid("channel must be a channel id").optional(),
  cursor: z.string().optional(),
  limit: z.coerce.number().int("limit must be a whole number from 1 to 100").min(1, "limit must be a whole number from 1 to 100").max(100, "limit must be a whole number from 1 to 100").default(50),
});

/** Newest first, keyset-paged by id (a bigserial: the order entries were written); customers see their organisation's entries, admins every organisation's. */
export async function listAudit(db: DbOrTx, actor: Actor, input: { channelId?: string; cursor?: string; limit?: number | string } = {}) {
  const parsed = ListAuditInput.safeParse(input);
  if (!parsed.success) throw new BadRequestError(parsed.error.issues.map((i) => i.message).join("; "));
  const { channelId, cursor, limit } = parsed.data;
  const after = decodeCursor("audit", cursor, z.tuple([cursorBigintSchema]));
  const rows = await db
    .select({
      id: auditLog.id,
      at: auditLog.at,
      action: auditLog.action,
      subject: auditLog.subject,
      channelId: auditLog.channelId,
      orgId: auditLog.orgId,
      orgName: orgs.name,
      actor: sql<string | null>`coalesce(${users.email}, case when ${auditLog.actorUserId} is null then null else 'deleted user' end)`,
      detail: auditLog.detail,
    })
    .from(auditLog)
    .leftJoin(users, eq(users.id, auditLog.actorUserId))
    .leftJoin(orgs, eq(orgs.id, auditLog.orgId))
    .where(and(orgScope(actor, auditLog.orgId), channelId ? eq(auditLog.channelId, channelId) : undefined, after ? lt(auditLog.id, after[0]) : undefined))
    .orderBy(desc(auditLog.id))
    .limit(limit + 1);
  const { items, next } = toPage(rows as AuditRow[], limit, "audit", (r) => [r.id]);
  return { entries: items, next };
}
