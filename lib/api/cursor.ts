// Keyset pagination: an opaque cursor holds the sort key of the last item of a page (tagged with the list it belongs
// to), and the next page is the rows strictly after that key in the list's order. Unlike offsets, rows inserted or
// removed between two requests neither repeat an item nor skip one.
import { sql, type AnyColumn, type SQL } from "drizzle-orm";
import { z } from "zod";
import { BadRequestError } from "../errors";

/** A sort key: timestamps as text with microseconds (see `cursorTime`), ids, numbers. */
export type CursorKey = ReadonlyArray<string | number>;

/**
 * A timestamp column as ISO 8601 text with microseconds, for cursors. PostgreSQL keeps microseconds and a JS Date only
 * milliseconds: a cursor made from a Date would skip rows that share the millisecond of the last one shown.
 */
export const cursorTime = (column: AnyColumn | SQL) => sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
/** A timestamp part of a cursor key, as `cursorTime` writes it. */
export const cursorTimeSchema = z
  .string()
  .regex(TIME)
  // A real instant (no 30 February, which Date.parse would roll over and PostgreSQL refuse): it reads back the same.
  .refine((v) => !Number.isNaN(Date.parse(v)) && new Date(v).toISOString().slice(0, 23) === v.slice(0, 23));
export const cursorUuidSchema = z.uuid();
export const cursorIntSchema = z.number().int().min(-2_147_483_648).max(2_147_483_647);
export const cursorBigintSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const INVALID_CURSOR = "The cursor is not valid: it belongs to another list or was changed. Start again from the first page (leave cursor out) and follow each page's next.";

export function encodeCursor(list: string, key: CursorKey): string {
  return Buffer.from(JSON.stringify([list, ...key]), "utf8").toString("base64url");
}

/** The key in `cursor`, checked against the list's key shape; undefined without a cursor; a 400 when it is not one of this list's. */
export function decodeCursor<T extends readonly unknown[]>(list: string, cursor: string | undefined | null, shape: z.ZodType<T>): T | undefined {
  if (cursor === undefined || cursor === null || cursor === "") return undefined;
  let decoded: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error("not base64url");
    decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new BadRequestError(INVALID_CURSOR);
  }
  if (!Array.isArray(decoded) || decoded[0] !== list) throw new BadRequestError(INVALID_CURSOR);
  const parsed = shape.safeParse(decoded.slice(1));
  if (!parsed.success) throw new BadRequestError(INVALID_CURSOR);
  return parsed.data;
}

/**
 * Rows after `key` in the order the columns are sorted (`desc` true: newest first), as one row comparison so the
 * index on these columns serves it. `key` values are typed with `types` (PostgreSQL casts such as "timestamptz").
 */
export function afterKey(columns: Array<AnyColumn | SQL>, key: readonly unknown[], types: string[], desc: boolean): SQL {
  const values = key.map((v, i) => sql`cast(${v} as ${sql.raw(types[i])})`);
  return sql`(${sql.join(columns, sql`, `)}) ${sql.raw(desc ? "<" : ">")} (${sql.join(values, sql`, `)})`;
}

/** Splits `limit + 1` fetched rows into the page and the cursor of the next one (null on the last page). */
export function toPage<R>(rows: R[], limit: number, list: string, keyOf: (row: R) => CursorKey): { items: R[]; next: string | null } {
  if (rows.length <= limit) return { items: rows, next: null };
  const items = rows.slice(0, limit);
  return { items, next: encodeCursor(list, keyOf(items[items.length - 1])) };
}

/** The page size a lib function was asked for: 1–100, default 50 (the same bounds as the API's `limit`). */
export function pageLimit(limit: number | undefined, fallback = 50): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new BadRequestError("limit must be a whole number from 1 to 100.");
  return limit;
}

/** An ILIKE pattern matching values that contain `text` literally (its %, _ and \\ escaped): list searches. */
export const containsPattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export const STALE_PAGE_LINK = "That page link is out of date or was changed, so the list starts again from the first page.";

/**
 * For pages: the page at `cursor`; a cursor that is not valid (an old or edited link) gives the first page and a
 * message to show, instead of an error page.
 */
export async function loadPage<T>(load: (cursor: string | undefined) => Promise<T>, cursor: string | undefined): Promise<{ page: T; problem: string | null }> {
  if (!cursor) return { page: await load(undefined), problem: null };
  try {
    return { page: await load(cursor), problem: null };
  } catch (err) {
    if (!(err instanceof BadRequestError) || err.message !== INVALID_CURSOR) throw err;
    return { page: await load(undefined), problem: STALE_PAGE_LINK };
  }
}
