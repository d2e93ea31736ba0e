// A YAML document built to be expensive, sent through the API as a flavour's layers: refused with 422 naming the limit.
import { afterAll, beforeAll, expect, it } from "vitest";
import { inject } from "vitest";
import { closeTestDb, makeActor, removeTestOrgs, testDb } from "@/lib/testing/fixtures";
import { createToken } from "@/lib/auth/tokens";
import { ensureBundledBaseManifests, listBaseManifests } from "@/lib/base-manifests/base-manifests";
import { createFlavour } from "@/lib/flavours/flavours";
import { MAX_BODY_BYTES } from "@/lib/api/request";
import { MAX_YAML_NODES } from "@/lib/manifest/parse";
import * as revisions from "@/app/api/v1/flavours/[id]/revisions/route";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";
const db = testDb();

afterAll(async () => {
  await removeTestOrgs(db);
  await closeTestDb();
});

let token: string;
let flavourId: string;

beforeAll(async () => {
  await ensureBundledBaseManifests(db);
  const baseId = (await listBaseManifests(db)).find((b) => b.name === "strata-base")!.id;
  const customer = await makeActor(db);
  token = (await createToken(db, customer, { name: "yaml" })).token;
  flavourId = (await createFlavour(db, customer, { baseManifestId: baseId, name: `yaml-limits-${Date.now().toString(36)}` })).id;
});

it("answers 422 naming the node limit for a ~2 MiB layers document of ~165k distinct keys, and saves nothing", async () => {
  const lines = ["- category: a", "  name: b", '  version: "1"', "  extra:"];
  for (let i = 0; i < 165_000; i++) lines.push(`   k${i.toString(36)}: 0`);
  const body = JSON.stringify({ layersYaml: lines.join("\n"), message: "many keys" });
  // As large as the API takes: the body limit is not what refuses it.
  expect(body.length).toBeGreaterThan(1.9 * 1024 * 1024);
  expect(body.length).toBeLessThanOrEqual(MAX_BODY_BYTES);
  const res = await revisions.POST(
    new Request(`https://localhost/api/v1/flavours/${flavourId}/revisions`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body }),
    { params: Promise.resolve({ id: flavourId }) },
  );
  expect(res.status).toBe(422);
  const answer = await res.json();
  expect(answer.error.code).toBe("validation_failed");
  expect(answer.error.message).toContain(`more than ${MAX_YAML_NODES.toLocaleString("en")} nodes (keys, values and list items), the most Strata reads`);
  const listed = await revisions.GET(new Request(`https://localhost/api/v1/flavours/${flavourId}/revisions`, { headers: { authorization: `Bearer ${token}` } }), { params: Promise.resolve({ id: flavourId }) });
  expect((await listed.json()).revisions).toHaveLength(1);
});
