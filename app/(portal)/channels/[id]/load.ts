// The channel of a page, or the 404 page: a bad or foreign id must not crash the render.
import { notFound } from "next/navigation";
import type { Actor } from "@/lib/auth/actor";
import { getChannel } from "@/lib/channels/channels";
import { getDb } from "@/lib/db";
import { NotFoundError } from "@/lib/errors";

export async function loadChannel(actor: Actor, id: string) {
  try {
    return await getChannel(getDb(), actor, id);
  } catch (err) {
    if (err instanceof NotFoundError) notFound();
    throw err;
  }
}
