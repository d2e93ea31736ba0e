// Cursors: what a page's `next` holds, and every way one can be wrong (a 400 with the same message).
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { BadRequestError } from "../errors";
import { containsPattern, cursorTimeSchema, cursorUuidSchema, decodeCursor, encodeCursor, INVALID_CURSOR, loadPage, pageLimit, STALE_PAGE_LINK, toPage } from "./cursor";

const key = z.tuple([cursorTimeSchema, cursorUuidSchema]);
const at = "2025-03-01T10:00:00.123456Z";
const id = "0b6f7c1e-2a4d-4c8e-9f10-1234567890ab";

describe("cursors", () => {
  it("round-trip the key of the list they were made for, as URL-safe text", () => {
    const cursor = encodeCursor("builds", [at, id]);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor("builds", cursor, key)).toEqual([at, id]);
    expect(decodeCursor("builds", undefined, key)).toBeUndefined();
    expect(decodeCursor("builds", "", key)).toBeUndefined();
  });

  it.each([
    ["not base64url", "a+b/c="],
    ["not JSON", Buffer.from("{nope").toString("base64url")],
    ["not a list", Buffer.from('{"a":1}').toString("base64url")],
    ["another list's", encodeCursor("flavours", [at, id])],
    ["a key of the wrong shape", encodeCursor("builds", [at])],
    ["a time without microseconds", encodeCursor("builds", ["2025-03-01T10:00:00.123Z", id])],
    ["an impossible time", encodeCursor("builds", ["2025-02-01T25:00:00.000000Z", id])],
    ["30 February", encodeCursor("builds", ["2025-02-30T10:00:00.000000Z", id])],
    ["a bad id", encodeCursor("builds", [at, "'; drop table builds; --"])],
  ])("refuses %s with a 400 that says to start again", (_case, cursor) => {
    expect(() => decodeCursor("builds", cursor, key)).toThrow(new BadRequestError(INVALID_CURSOR));
  });

  it("splits limit + 1 rows into a page and the next cursor, null on the last page", () => {
    const rows = [1, 2, 3].map((n) => ({ n }));
    expect(toPage(rows, 3, "x", (r) => [r.n])).toEqual({ items: rows, next: null });
    const page = toPage(rows, 2, "x", (r) => [r.n]);
    expect(page.items).toEqual(rows.slice(0, 2));
    expect(decodeCursor("x", page.next, z.tuple([z.number()]))).toEqual([2]);
  });

  it("bounds the page size like the API does", () => {
    expect(pageLimit(undefined)).toBe(50);
    expect(pageLimit(100)).toBe(100);
    for (const bad of [0, 101, 1.5]) expect(() => pageLimit(bad)).toThrow(/limit must be a whole number from 1 to 100/);
  });

  it("searches for % and _ literally", () => {
    expect(containsPattern("50%_off\\")).toBe("%50\\%\\_off\\\\%");
  });

  it("gives pages the first page and a message for a stale cursor, and passes other errors on", async () => {
    const load = async (cursor: string | undefined) => {
      decodeCursor("x", cursor, z.tuple([z.number()]));
      return cursor ?? "first";
    };
    expect(await loadPage(load, "garbage")).toEqual({ page: "first", problem: STALE_PAGE_LINK });
    expect(await loadPage(load, undefined)).toEqual({ page: "first", problem: null });
    await expect(loadPage(async () => Promise.reject(new BadRequestError("other")), "c")).rejects.toThrow("other");
  });
});
