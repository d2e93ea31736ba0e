// The revision or package of a repository page, or the 404 page: a bad number, name or foreign id must not crash the render.
// Package names are [a-z0-9-], so the path segments need no decoding (getRepositoryPackage answers NotFound to others).
import { notFound } from "next/navigation";
import type { Actor } from "@/lib/auth/actor";
import { getDb } from "@/lib/db";
import { NotFoundError } from "@/lib/errors";
import { getRepositoryPackage, getRepositoryRevision } from "@/lib/repository/queries";

/** A revision number from a URL: a positive integer that fits the column, or null. */
export function parseRevisionNumber(value: string | undefined): number | null {
  if (value === undefined || !/^[1-9][0-9]{0,8}$/.test(value.trim())) return null;
  return Number(value.trim());
}

async function orNotFound<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (err instanceof NotFoundError) notFound();
    throw err;
  }
}

export async function loadRevision(actor: Actor, flavourId: string, numberParam: string) {
  const number = parseRevisionNumber(numberParam);
  if (number === null) notFound();
  return orNotFound(() => getRepositoryRevision(getDb(), actor, flavourId, number));
}

export async function loadPackage(actor: Actor, flavourId: string, numberParam: string, category: string, name: string) {
  const number = parseRevisionNumber(numberParam);
  if (number === null) notFound();
  return orNotFound(() => getRepositoryPackage(getDb(), actor, flavourId, number, category, name));
}
