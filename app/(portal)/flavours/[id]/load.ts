// The flavour of a page, or the 404 page: a bad or foreign id must not crash the render.
import { notFound } from "next/navigation";
import type { Actor } from "@/lib/auth/actor";
import { getDb } from "@/lib/db";
import { NotFoundError } from "@/lib/errors";
import { getFlavour } from "@/lib/flavours/flavours";

export async function loadFlavour(actor: Actor, id: string) {
  try {
    return await getFlavour(getDb(), actor, id);
  } catch (err) {
    if (err instanceof NotFoundError) notFound();
    throw err;
  }
}
