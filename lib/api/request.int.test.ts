// Reading requests through withApi against the real database: body limits (declared and streamed), the CSRF checks
// on cookie-signed writes, and cookie headers other apps on localhost leave behind.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { z } from "zod";
import { encode } from "next-auth/jwt";
import { closeTestDb, makeActor, STRONG_PASSWORD, testDb, uniqueEmail } from "@/lib/testing/fixtures";
import { createToken } from "@/lib/auth/tokens";
import type { Actor } from "@/lib/auth/actor";
import { authSecret, config } from "@/lib/config";
import { withApi } from "./with-api";
import { route } from "./spec";
import { MAX_BODY_BYTES } from "./request";
import * as me from "@/app/api/v1/me/route";
import * as signUp from "@/app/api/v1/sign-up/route";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";
process.env.NEXTAUTH_SECRET ??= "request-int-test-secret-0123456789abcdef";
const db = testDb();
afterAll(closeTestDb);

const ctx = { params: Promise.resolve({}) };
const ORIGIN = new URL(config.publicUrl).origin;

// A write that echoes what it was given, declared like every route: the checks under test are withApi's, not a route's.
const echo = withApi(
  route({ method: "POST", path: "/api/v1/test-echo", summary: "echo", tags: ["test"], role: "customer", body: z.object({ note: z.string().optional() }), response: z.object({ note: z.string().nullable(), via: z.string() }) }),
  async ({ body, actor }) => ({ note: body.note ?? null, via: actor.via }),
);

let customer: Actor;
let sessionCookie: string;
let bearer: string;

beforeAll(async () => {
  customer = await makeActor(db);
  const jwt = await encode({ token: { sub: customer.user.id, email: customer.user.email }, secret: authSecret() });
  const name = config.publicUrl.startsWith("https://") ? "__Secure-next-auth.session-token" : "next-auth.session-token";
  sessionCookie = `${name}=${jwt}`;
  bearer = (await createToken(db, customer, { name: "request-test" })).token;
});

const post = (headers: Record<string, string>, body?: BodyInit, method = "POST") =>
  echo(new Request("https://localhost:3443/api/v1/test-echo", { method, headers: { host: "localhost:3443", ...headers }, body, duplex: "half" } as RequestInit), ctx);

/** A body that streams without a Content-Length (as a chunked upload does), counting the chunks taken from it. */
function endlessBody(chunkBytes = 64 * 1024) {
  const state = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      state.pulled++;
      controller.enqueue(new Uint8Array(chunkBytes).fill(0x20));
    },
  });
  return { stream, state };
}

describe("request bodies", () => {
  it("answers 413 from Content-Length on the public sign-up route without reading the body", async () => {
    const { stream, state } = endlessBody();
    const res = await signUp.POST(
      new Request("https://localhost/api/v1/sign-up", {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(MAX_BODY_BYTES + 1) },
        body: stream,
        duplex: "half",
      } as RequestInit),
      ctx,
    );
    expect(res.status).toBe(413);
    const body = await res.json();
    expect(body.error.code).toBe("payload_too_large");
    expect(body.error.message).toMatch(/larger than 2 MiB/);
    // The stream's first chunk may be buffered when the Request is made; nothing past it is read.
    expect(state.pulled).toBeLessThanOrEqual(1);
  });

  it("counts a body without Content-Length while reading and stops at the limit", async () => {
    const { stream, state } = endlessBody();
    const res = await signUp.POST(
      new Request("https://localhost/api/v1/sign-up", { method: "POST", headers: { "content-type": "application/json" }, body: stream, duplex: "half" } as RequestInit),
      ctx,
    );
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe("payload_too_large");
    // 2 MiB in 64 KiB chunks is 32; the stream is endless, so stopping near there is what ends the request.
    expect(state.pulled).toBeLessThanOrEqual(MAX_BODY_BYTES / (64 * 1024) + 3);
  });

  it("still reads a body under the limit (sign-up answers with its own validation)", async () => {
    const res = await signUp.POST(
      new Request("https://localhost/api/v1/sign-up", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: uniqueEmail("body"), name: "x".repeat(1000), organisation: "Body Org", password: STRONG_PASSWORD }),
      }),
      ctx,
    );
    expect(res.status).toBe(422);
    expect((await res.json()).error.message).toMatch(/name is at most 100/);
  });

  it("refuses a body that is not JSON by its Content-Type, even when the type mentions json", async () => {
    const res = await post({ authorization: `Bearer ${bearer}`, "content-type": "text/plain;x=json" }, JSON.stringify({ note: "hi" }));
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/Content-Type: application\/json/);
  });
});

describe("CSRF checks on writes signed with the session cookie", () => {
  it("accepts a same-origin JSON write (Origin of the public URL, charset allowed)", async () => {
    const res = await post({ cookie: sessionCookie, "content-type": "application/json; charset=utf-8", origin: ORIGIN }, JSON.stringify({ note: "ok" }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ note: "ok", via: "session" });
  });

  it("accepts an empty JSON write with Sec-Fetch-Site: same-origin", async () => {
    const res = await post({ cookie: sessionCookie, "content-type": "application/json", "sec-fetch-site": "same-origin" });
    expect(res.status).toBe(200);
  });

  it("accepts an Origin that matches the Host the browser used (plain HTTP on loopback)", async () => {
    const res = await post({ cookie: sessionCookie, "content-type": "application/json", origin: "http://127.0.0.1:3080", host: "127.0.0.1:3080" }, "{}");
    expect(res.status).toBe(200);
  });

  it.each([
    ["text/plain;x=json", { "content-type": "text/plain;x=json", origin: ORIGIN }, JSON.stringify({ note: "x" }), /Content-Type: application\/json/],
    ["an empty body without a Content-Type", { origin: ORIGIN }, undefined, /Content-Type: application\/json/],
    ["a form post", { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN }, "note=x", /Content-Type: application\/json/],
    ["another site's Origin", { "content-type": "application/json", origin: "https://evil.example" }, "{}", /another site \(Origin: https:\/\/evil\.example\)/],
    ["Origin: null", { "content-type": "application/json", origin: "null" }, "{}", /another site/],
    ["no Origin and no Sec-Fetch-Site", { "content-type": "application/json" }, "{}", /another site \(Origin: none\)/],
    ["Sec-Fetch-Site: same-site", { "content-type": "application/json", "sec-fetch-site": "same-site" }, "{}", /another site/],
  ])("refuses %s with 403", async (_case, headers, body, message) => {
    const res = await post({ cookie: sessionCookie, ...headers }, body);
    expect(res.status).toBe(403);
    const answer = await res.json();
    expect(answer.error.code).toBe("forbidden");
    expect(answer.error.message).toMatch(message);
  });

  it("applies to DELETE too", async () => {
    const res = await post({ cookie: sessionCookie, origin: "https://evil.example", "content-type": "application/json" }, undefined, "DELETE");
    expect(res.status).toBe(403);
  });

  it("does not apply to bearer tokens (browsers never send them on their own)", async () => {
    const res = await post({ authorization: `Bearer ${bearer}`, "content-type": "application/json" }, JSON.stringify({ note: "script" }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ note: "script", via: "token" });
  });
});

describe("cookie headers", () => {
  const getMe = (cookie: string) => me.GET(new Request("https://localhost/api/v1/me", { headers: { cookie } }), ctx);

  it("reads the session beside a cookie whose value is a stray %", async () => {
    const res = await getMe(`grafana_session=%; ${sessionCookie}; theme=50%off`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ via: "session", user: { id: customer.user.id } });
  });

  it("answers 401, not 500, when the only cookies are undecodable", async () => {
    const res = await getMe("a=%; b=%E0%A4%A");
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("unauthenticated");
  });
});
