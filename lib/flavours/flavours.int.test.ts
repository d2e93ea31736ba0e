// Base manifests and flavours against the real database: forking, revisions, diffs, rebase, export/import, scoping and every bad input.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { count, eq } from "drizzle-orm";
import { closeTestDb, makeActor, testDb } from "../testing/fixtures";
import { baseManifests, flavourRevisions, flavours } from "../db/schema";
import { listBaseManifests, publishBaseManifest, ensureBundledBaseManifests, getBaseManifest } from "../base-manifests/base-manifests";
import { createFlavour, diffRevisions, getFlavour, getRevision, listFlavours, listRevisions, previewRebase, rebaseFlavour, saveRevision, updateFlavour } from "./flavours";
import { exportRevisionLuet, exportRevisionYaml, importFlavour } from "./transfer";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors";
import type { Actor } from "../auth/actor";
import type { PackageDefinitionInput } from "../manifest/schema";
import { toManifestYaml } from "../manifest/yaml";
import { MAX_LAYERS } from "./limits";
import { createToken } from "../auth/tokens";
import { getPool } from "../db";
import * as flavoursRoute from "@/app/api/v1/flavours/route";
import * as flavourRoute from "@/app/api/v1/flavours/[id]/route";

// The route handlers (withApi) use the app's own pool on the test database.
process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";
const db = testDb();
afterAll(async () => {
  await closeTestDb();
  await getPool().end();
});

let customer: Actor;
let other: Actor;
let admin: Actor;
let baseId: string;

const htop: PackageDefinitionInput = {
  category: "layer",
  name: "htop",
  version: "1",
  requires: ["system/base"],
  steps: ["apt-get update", "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends htop", "rm -rf /var/lib/apt/lists/*"],
};
const motd: PackageDefinitionInput = { category: "layer", name: "motd", version: "1", files: [{ path: "/etc/motd", mode: "0644", content: "hello\n" }] };

let seq = 0;
const flavourName = () => `fl-${Date.now().toString(36)}-${seq++}`;
const fork = (actor = customer, name = flavourName()) => createFlavour(db, actor, { baseManifestId: baseId, name, description: "test" });
const rowCounts = async () => [(await db.select({ n: count() }).from(flavours))[0].n, (await db.select({ n: count() }).from(flavourRevisions))[0].n];

beforeAll(async () => {
  await ensureBundledBaseManifests(db);
  customer = await makeActor(db);
  other = await makeActor(db);
  admin = await makeActor(db, { role: "admin" });
  const [base] = (await listBaseManifests(db)).filter((b) => b.name === "strata-base");
  baseId = base.id;
});

describe("base manifests", () => {
  it("ships strata-base 2 with the foundation stack", async () => {
    const base = await getBaseManifest(db, baseId);
    const ids = base.packages.map((p) => `${p.category}/${p.name}`);
    for (const id of ["system/base", "system/systemd", "system/dracut", "system/grub", "system/kernel", "system/openssh", "system/networking"]) expect(ids).toContain(id);
    expect(ids).not.toContain("system/os-release");
    expect(await ensureBundledBaseManifests(db)).toBe(0);
  });

  it("lets admins publish a new version and keeps versions immutable", async () => {
    const base = await getBaseManifest(db, baseId);
    const version = `t${Date.now()}`;
    const yaml = toManifestYaml({ ...base.header, version, packages: base.packages });
    const published = await publishBaseManifest(db, admin, { yaml });
    expect(published.version).toBe(version);
    await expect(publishBaseManifest(db, admin, { yaml })).rejects.toBeInstanceOf(ConflictError);
    expect((await getBaseManifest(db, baseId)).version).toBe(base.version);
  });

  it("refuses customers and invalid YAML, naming the line, writing nothing", async () => {
    const before = (await db.select({ n: count() }).from(baseManifests))[0].n;
    await expect(publishBaseManifest(db, customer, { yaml: "name: x" })).rejects.toBeInstanceOf(ForbiddenError);
    const bad = await publishBaseManifest(db, admin, { yaml: "name: strata-base\nversion: '9'\nbase_image: x\npackages:\n  - category: system\n    name: Bad_Name\n    version: '1'\n" }).catch((e) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad.message).toMatch(/line 6/);
    expect(bad.message).toMatch(/name/);
    expect((await db.select({ n: count() }).from(baseManifests))[0].n).toBe(before);
  });
});

describe("flavours", () => {
  it("forks a base version into revision 1 without layers", async () => {
    const flavour = await fork();
    expect(flavour.latest.number).toBe(1);
    expect(flavour.latest.layers).toEqual([]);
    expect(flavour.latest.base.name).toBe("strata-base");
    expect((await listFlavours(db, customer)).flavours.map((f) => f.id)).toContain(flavour.id);
  });

  it("saves numbered, immutable revisions and diffs them", async () => {
    const flavour = await fork();
    const r2 = await saveRevision(db, customer, flavour.id, { layers: [htop], message: "add htop", parentRevision: 1 });
    const r3 = await saveRevision(db, customer, flavour.id, { layers: [htop, motd], message: "add motd" });
    expect([r2.number, r3.number]).toEqual([2, 3]);
    expect((await getRevision(db, customer, flavour.id, 2)).layers.map((l) => l.name)).toEqual(["htop"]);
    expect((await listRevisions(db, customer, flavour.id)).revisions.map((r) => r.number)).toEqual([3, 2, 1]);

    const { diff } = await diffRevisions(db, customer, flavour.id, 2, 3);
    expect(diff.added.map((p) => p.name)).toEqual(["motd"]);
    expect(diff.removed).toEqual([]);
    const vsBase = await diffRevisions(db, customer, flavour.id, "base", 3);
    expect(vsBase.diff.added.map((p) => p.name)).toEqual(["htop", "motd"]);

    const changed = await saveRevision(db, customer, flavour.id, { layers: [{ ...htop, version: "2" }, motd] });
    const lineDiff = (await diffRevisions(db, customer, flavour.id, 3, changed.number)).diff.changed[0];
    expect(lineDiff.id).toBe("layer/htop");
    expect(lineDiff.lines.filter((l) => l.kind !== "same").map((l) => l.text)).toEqual(expect.arrayContaining([expect.stringContaining('version: "1"')]));
  });

  it("accepts layers as YAML text", async () => {
    const flavour = await fork();
    const saved = await saveRevision(db, customer, flavour.id, { layersYaml: "- category: layer\n  name: tools\n  version: '1'\n  steps: [echo hi]\n" });
    expect(saved.layers[0].name).toBe("tools");
  });

  it("refuses a save started from an older revision", async () => {
    const flavour = await fork();
    await saveRevision(db, customer, flavour.id, { layers: [htop], parentRevision: 1 });
    await expect(saveRevision(db, customer, flavour.id, { layers: [motd], parentRevision: 1 })).rejects.toBeInstanceOf(ConflictError);
  });

  it("renames, archives and restores", async () => {
    const flavour = await fork();
    const renamed = await updateFlavour(db, customer, flavour.id, { name: `${flavour.name}-x`, description: "renamed" });
    expect(renamed.name).toBe(`${flavour.name}-x`);
    await updateFlavour(db, customer, flavour.id, { archived: true });
    expect((await listFlavours(db, customer)).flavours.map((f) => f.id)).not.toContain(flavour.id);
    expect((await listFlavours(db, customer, { archived: true })).flavours.map((f) => f.id)).toContain(flavour.id);
    await expect(saveRevision(db, customer, flavour.id, { layers: [htop] })).rejects.toThrow(/archived/);
    await updateFlavour(db, customer, flavour.id, { archived: false });
    await expect(saveRevision(db, customer, flavour.id, { layers: [htop] })).resolves.toMatchObject({ number: 2 });
  });

  it("rebases onto another base version after a preview", async () => {
    const base = await getBaseManifest(db, baseId);
    const newer = await publishBaseManifest(db, admin, {
      yaml: toManifestYaml({ ...base.header, version: `r${Date.now()}`, packages: base.packages.map((p) => (p.name === "openssh" ? { ...p, version: "9.9" } : p)) }),
    });
    const flavour = await fork();
    await saveRevision(db, customer, flavour.id, { layers: [htop] });
    const preview = await previewRebase(db, customer, flavour.id, newer.id);
    expect(preview.problems).toEqual([]);
    expect(preview.diff.changed.map((c) => c.id)).toEqual(["system/openssh"]);
    const rebased = await rebaseFlavour(db, customer, flavour.id, { baseManifestId: newer.id });
    expect(rebased.base.id).toBe(newer.id);
    expect(rebased.layers.map((l) => l.name)).toEqual(["htop"]);
    await expect(rebaseFlavour(db, customer, flavour.id, { baseManifestId: newer.id })).rejects.toThrow(/already on/);
  });

  it("exports YAML and a luet tree, and imports both back as new flavours", async () => {
    const flavour = await fork();
    await saveRevision(db, customer, flavour.id, { layers: [htop, motd] });
    const { yaml } = await exportRevisionYaml(db, customer, flavour.id, 2);
    expect(yaml).toContain("kind: strata/flavour");
    const fromYaml = await importFlavour(db, customer, { yaml, name: `${flavour.name}-y` });
    expect(fromYaml.latest.layers.map((l) => l.name)).toEqual(["htop", "motd"]);
    expect(fromYaml.latest.base.id).toBe(baseId);

    const { stream } = await exportRevisionLuet(db, customer, flavour.id, 2);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    const fromTar = await importFlavour(db, customer, { luetTarBase64: Buffer.concat(chunks).toString("base64"), name: `${flavour.name}-t` });
    expect(fromTar.latest.layers.map((l) => l.name)).toEqual(["htop", "motd"]);
    expect(fromTar.latest.base.id).toBe(baseId);
  });
});

describe("organisation scoping", () => {
  it("answers 404 for another organisation's flavour on every verb, changing nothing", async () => {
    const theirs = await fork(other);
    const before = await rowCounts();
    await expect(getFlavour(db, customer, theirs.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(getRevision(db, customer, theirs.id, 1)).rejects.toBeInstanceOf(NotFoundError);
    await expect(saveRevision(db, customer, theirs.id, { layers: [htop] })).rejects.toBeInstanceOf(NotFoundError);
    await expect(updateFlavour(db, customer, theirs.id, { name: "stolen" })).rejects.toBeInstanceOf(NotFoundError);
    await expect(diffRevisions(db, customer, theirs.id, "base", 1)).rejects.toBeInstanceOf(NotFoundError);
    await expect(exportRevisionYaml(db, customer, theirs.id, 1)).rejects.toBeInstanceOf(NotFoundError);
    expect((await listFlavours(db, customer)).flavours.map((f) => f.id)).not.toContain(theirs.id);
    expect(await rowCounts()).toEqual(before);
    // Admins see every organisation's flavours.
    await expect(getFlavour(db, admin, theirs.id)).resolves.toMatchObject({ id: theirs.id });
  });

  it("treats a malformed id as not found", async () => {
    await expect(getFlavour(db, customer, "not-a-uuid")).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("bad input: a clear error naming the field, nothing saved", () => {
  let flavourId: string;
  beforeAll(async () => {
    flavourId = (await fork()).id;
  });

  const bigFile = "x".repeat(1024 * 1024 + 1);
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["invalid YAML", { layersYaml: "- category: layer\n  name: [unclosed\n" }, /line \d/],
    ["an unknown field", { layers: [{ ...htop, colour: "red" }] }, /colour/],
    ["a name outside [a-z0-9-]", { layers: [{ ...htop, name: "Htop_Tool" }] }, /layers\[0\]\.name/],
    ["a duplicate package", { layers: [htop, htop] }, /layer\/htop/],
    ["a package clashing with the base", { layers: [{ ...htop, category: "system", name: "base" }] }, /system\/base/],
    ["a cycle", { layers: [{ ...htop, name: "a", requires: ["layer/b"] }, { ...htop, name: "b", requires: ["layer/a"] }] }, /layer\/a|layer\/b/],
    ["requires of a missing package", { layers: [{ ...htop, requires: ["system/nope"] }] }, /system\/nope/],
    ["a relative overlay path", { layers: [{ ...motd, files: [{ path: "etc/motd", content: "" }] }] }, /files\[0\]\.path.*absolute/],
    ["an overlay path with ..", { layers: [{ ...motd, files: [{ path: "/etc/../root/x", content: "" }] }] }, /files\[0\]\.path.*\.\./],
    ["an overlay path into /proc", { layers: [{ ...motd, files: [{ path: "/proc/sys/x", content: "" }] }] }, /\/proc/],
    ["an overlay path into /sys", { layers: [{ ...motd, files: [{ path: "/sys/x", content: "" }] }] }, /\/sys/],
    ["an overlay path into /dev", { layers: [{ ...motd, files: [{ path: "/dev/sda", content: "" }] }] }, /\/dev/],
    ["a mode outside 0000-7777", { layers: [{ ...motd, files: [{ path: "/etc/x", mode: "8888", content: "" }] }] }, /mode/],
    ["a five-digit mode", { layers: [{ ...motd, files: [{ path: "/etc/x", mode: "77777", content: "" }] }] }, /mode/],
    ["a file over 1 MiB", { layers: [{ ...motd, files: [{ path: "/etc/big", content: bigFile }] }] }, /1 MiB/],
    ["too many layers", { layers: Array.from({ length: MAX_LAYERS + 1 }, (_, i) => ({ ...motd, name: `l${i}`, files: [] })) }, /at most 50 layers/],
    ["both layers and layersYaml", { layers: [], layersYaml: "[]" }, /either/],
    ["an unknown top-level field", { layers: [], colour: "red" }, /colour/],
  ];

  it.each(cases)("refuses %s", async (_case, input, message) => {
    const before = await rowCounts();
    const error = await saveRevision(db, customer, flavourId, input).catch((e) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toMatch(message);
    expect(await rowCounts()).toEqual(before);
  });

  it("refuses layers over the total size limit", async () => {
    // 17 layers of 4 × 0.99 MiB files: each file and each package is within its limit, the revision is not.
    const content = "y".repeat(1024 * 1000);
    const layers = Array.from({ length: 5 }, (_, i) => ({ ...motd, name: `big${i}`, files: [0, 1, 2, 3].map((f) => ({ path: `/opt/f${i}-${f}`, content })) }));
    const before = await rowCounts();
    const error = await saveRevision(db, customer, flavourId, { layers: [...layers, ...layers.map((l) => ({ ...l, name: `${l.name}b` }))] }).catch((e) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toMatch(/MiB/);
    expect(await rowCounts()).toEqual(before);
  });

  it.each([
    ["an invalid name", { name: "My Flavour!" }, /name/],
    ["an unknown base", { name: "ok-name", baseManifestId: "00000000-0000-4000-8000-000000000000" }, /base manifest/],
    ["an unknown field", { name: "ok-name", colour: "red" }, /colour/],
  ])("refuses a fork with %s", async (_case, patch, message) => {
    const before = await rowCounts();
    const error = await createFlavour(db, customer, { baseManifestId: baseId, description: "", ...patch }).catch((e) => e);
    expect(error.message).toMatch(message);
    expect(await rowCounts()).toEqual(before);
  });

  it("refuses a duplicate flavour name in one organisation but not across organisations", async () => {
    const name = flavourName();
    await fork(customer, name);
    await expect(fork(customer, name)).rejects.toBeInstanceOf(ConflictError);
    await expect(fork(other, name)).resolves.toMatchObject({ name });
  });

  it("refuses an import whose base is unknown", async () => {
    const yaml = "kind: strata/flavour\nname: imported\nbase: { name: nope, version: '1' }\nlayers: []\n";
    await expect(importFlavour(db, customer, { yaml })).rejects.toThrow(/nope 1 is not a base manifest/);
  });
});

describe("image repositories and renames", () => {
  type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;
  let token: string;
  beforeAll(async () => {
    token = (await createToken(db, customer, { name: "repositories" })).token;
  });
  /** A route handler called as Next would, with the customer's token. */
  async function call(handler: Handler, method: string, body: unknown, params: Record<string, string> = {}) {
    const res = await handler(
      new Request("https://localhost/api/v1/flavours", { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) }),
      { params: Promise.resolve(params) },
    );
    return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } & Record<string, unknown> };
  }
  const repositoryOf = async (id: string) => (await db.select({ r: flavours.imageRepository }).from(flavours).where(eq(flavours.id, id)))[0].r;

  it("gives a new flavour <org>/<name> and keeps it through renames", async () => {
    const flavour = await fork();
    expect(flavour.imageRepository).toBe(`${customer.org.slug}/${flavour.name}`);
    const renamed = await updateFlavour(db, customer, flavour.id, { name: `${flavour.name}-b` });
    expect(renamed).toMatchObject({ name: `${flavour.name}-b`, imageRepository: `${customer.org.slug}/${flavour.name}` });
    expect((await getFlavour(db, customer, flavour.id)).imageRepository).toBe(`${customer.org.slug}/${flavour.name}`);
    expect(await repositoryOf(flavour.id)).toBe(`${customer.org.slug}/${flavour.name}`);
  });

  it("refuses a new flavour with a renamed flavour's old name, naming the flavour that owns its repository, writing nothing", async () => {
    const a = flavourName();
    const flavour = await fork(customer, a);
    await updateFlavour(db, customer, flavour.id, { name: `${a}-b` });
    const before = await rowCounts();
    const refused = await fork(customer, a).catch((e) => e);
    expect(refused).toBeInstanceOf(ConflictError);
    expect(refused.message).toBe(
      `The image repository ${customer.org.slug}/${a} belongs to the flavour "${a}-b" (it was named "${a}" when it was made, and its images stay there); choose another name.`,
    );
    // Through the API: a 409 with the message, as the fork form shows it.
    const res = await call(flavoursRoute.POST, "POST", { baseManifestId: baseId, name: a, description: "" });
    expect(res.status).toBe(409);
    expect(res.body.error).toEqual({ code: "conflict", message: refused.message });
    expect(await rowCounts()).toEqual(before);
    // Another organisation has its own <slug>/ prefix: the name is free there.
    await expect(fork(other, a)).resolves.toMatchObject({ name: a, imageRepository: `${other.org.slug}/${a}` });
  });

  it("refuses renaming another flavour to that name, and lets the owner take its name back", async () => {
    const a = flavourName();
    const owner = await fork(customer, a);
    await updateFlavour(db, customer, owner.id, { name: `${a}-b` });
    const second = await fork();
    const refused = await updateFlavour(db, customer, second.id, { name: a }).catch((e) => e);
    expect(refused).toBeInstanceOf(ConflictError);
    expect(refused.message).toMatch(new RegExp(`belongs to the flavour "${a}-b".*choose another name`));
    const res = await call(flavourRoute.PATCH, "PATCH", { name: a }, { id: second.id });
    expect(res.status).toBe(409);
    expect(res.body.error?.message).toBe(refused.message);
    expect((await getFlavour(db, customer, second.id)).name).toBe(second.name);
    // The owner may go back to the name its images are under.
    await expect(updateFlavour(db, customer, owner.id, { name: a })).resolves.toMatchObject({ name: a, imageRepository: `${customer.org.slug}/${a}` });
  });

  it("refuses a name whose package repository (<name>-repo) would be another flavour's image repository, or the reverse", async () => {
    const a = flavourName();
    await fork(customer, a);
    const before = await rowCounts();
    await expect(fork(customer, `${a}-repo`)).rejects.toThrow(new RegExp(`share registry repositories with the flavour "${a}"`));
    const b = flavourName();
    await fork(customer, `${b}-repo`);
    await expect(fork(customer, b)).rejects.toThrow(new RegExp(`share registry repositories with the flavour "${b}-repo"`));
    expect((await rowCounts())[0]).toBe(before[0] + 1);
  });

  it("gives two concurrent forks with one name one flavour and one 409", async () => {
    const a = flavourName();
    const results = await Promise.allSettled([fork(customer, a), fork(customer, a), fork(customer, a)]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((r) => r.status === "rejected")) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
  });
});
