// Leaving base packages out of a flavour, against the real database: saving and every refusal, diffs, YAML and luet
// round trips, rebase.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { count } from "drizzle-orm";
import * as tar from "tar-stream";
import { closeTestDb, makeActor, testDb } from "../testing/fixtures";
import { flavourRevisions, flavours } from "../db/schema";
import { publishBaseManifest } from "../base-manifests/base-manifests";
import { createFlavour, diffRevisions, getFlavour, getRevision, listRevisions, previewRebase, rebaseFlavour, saveRevision } from "./flavours";
import { exportRevisionLuet, exportRevisionYaml, importFlavour } from "./transfer";
import { ValidationError } from "../errors";
import type { Actor } from "../auth/actor";
import type { PackageDefinitionInput } from "../manifest/schema";
import { toManifestYaml } from "../manifest/yaml";
import { exportLuetTar } from "../manifest/luet";

const db = testDb();
afterAll(closeTestDb);

let customer: Actor;
let admin: Actor;

const pkg = (category: string, name: string, requires: string[] = [], steps: string[] = ["true"]): PackageDefinitionInput => ({ category, name, version: "1", requires, steps });
// A small base with the shape of the real one: an essential foundation, networking, ssh on top of it, a kernel.
const BASE_PACKAGES = [
  pkg("system", "base"),
  pkg("system", "kernel", ["system/base"]),
  pkg("system", "networking", ["system/base"]),
  pkg("system", "openssh", ["system/base", "system/networking"]),
  pkg("system", "extras", ["system/base"]),
];
const tag = Date.now().toString(36);
const header = { name: `excl-${tag}`, base_image: "strata/debian:bookworm", description: "exclusions test base" };
let baseId: string;

const wantsSsh = pkg("layer", "ssh-keys", ["system/openssh"]);
const plain = pkg("layer", "motd", ["system/base"]);

let seq = 0;
const fork = () => createFlavour(db, customer, { baseManifestId: baseId, name: `ex-${tag}-${seq++}`, description: "" });
const rowCounts = async () => [(await db.select({ n: count() }).from(flavours))[0].n, (await db.select({ n: count() }).from(flavourRevisions))[0].n];
const ids = (packages: Array<{ category: string; name: string }>) => packages.map((p) => `${p.category}/${p.name}`);
const refusal = (promise: Promise<unknown>) => promise.then(() => { throw new Error("expected a refusal"); }, (e: unknown) => e as ValidationError);
const issues = (err: ValidationError) => (err.details as { issues: Array<{ path: string; message: string }> }).issues;

async function publish(version: string, packages: PackageDefinitionInput[]) {
  return publishBaseManifest(db, admin, { yaml: toManifestYaml({ ...header, version, packages }) });
}

async function tarOf(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  customer = await makeActor(db);
  admin = await makeActor(db, { role: "admin" });
  baseId = (await publish("1", BASE_PACKAGES)).id;
});

describe("saving a revision that leaves base packages out", () => {
  it("leaves out a package nothing requires; the revision builds the rest and keeps the choice until changed", async () => {
    const flavour = await fork();
    expect(flavour.latest.excludedPackages).toEqual([]);
    const r2 = await saveRevision(db, customer, flavour.id, { layers: [plain], excludedPackages: ["system/openssh"], message: "no ssh", parentRevision: 1 });
    expect(r2.excludedPackages).toEqual(["system/openssh"]);
    expect(ids(r2.packages)).toEqual(["system/base", "system/kernel", "system/networking", "system/extras", "layer/motd"]);

    // Omitted excludedPackages keep the latest revision's; only excludedPackages keeps the layers.
    const r3 = await saveRevision(db, customer, flavour.id, { layers: [plain, { ...plain, name: "motd-2" }] });
    expect(r3.excludedPackages).toEqual(["system/openssh"]);
    const r4 = await saveRevision(db, customer, flavour.id, { excludedPackages: ["system/openssh", "system/networking", "system/openssh"] });
    expect(ids(r4.layers)).toEqual(["layer/motd", "layer/motd-2"]);
    // Stored once each, in base order.
    expect(r4.excludedPackages).toEqual(["system/networking", "system/openssh"]);
    expect((await getFlavour(db, customer, flavour.id)).latest.excludedPackages).toEqual(["system/networking", "system/openssh"]);
    const r5 = await saveRevision(db, customer, flavour.id, { excludedPackages: [] });
    expect(ids(r5.packages)).toContain("system/openssh");
    expect((await listRevisions(db, customer, flavour.id)).revisions.map((r) => r.excludedPackages)).toEqual([[], ["system/networking", "system/openssh"], ["system/openssh"], ["system/openssh"], []]);
  });

  it("shows a left-out package as removed in the revision diff and the diff against the base", async () => {
    const flavour = await fork();
    await saveRevision(db, customer, flavour.id, { layers: [plain], excludedPackages: ["system/openssh"] });
    const revisions = await diffRevisions(db, customer, flavour.id, 1, 2);
    expect(ids(revisions.diff.removed)).toEqual(["system/openssh"]);
    expect(ids(revisions.diff.added)).toEqual(["layer/motd"]);
    const vsBase = await diffRevisions(db, customer, flavour.id, "base", 2);
    expect(ids(vsBase.diff.removed)).toEqual(["system/openssh"]);
    expect(vsBase.diff.changed).toEqual([]);
  });

  describe("refuses, naming the package and why, and writes nothing", () => {
    let flavourId: string;
    beforeAll(async () => {
      flavourId = (await fork()).id;
      await saveRevision(db, customer, flavourId, { layers: [plain] });
    });

    const cases: Array<[string, Record<string, unknown>, RegExp, string]> = [
      ["a package the base does not have", { excludedPackages: ["system/nope"] }, /system\/nope is not a package of excl-\w+ 1/, "excludedPackages[0]"],
      ["a layer, which is removed, not left out", { excludedPackages: ["layer/motd"] }, /layer\/motd is not a package of/, "excludedPackages[0]"],
      ["an entry that is not category/name", { excludedPackages: ["openssh"] }, /category\/name/, "excludedPackages[0]"],
      ["not a list", { excludedPackages: "system/openssh" }, /excludedPackages/, "excludedPackages"],
      ["an essential package, with the reason", { excludedPackages: ["system/kernel"] }, /system\/kernel cannot be left out: Devices boot this kernel/, "excludedPackages[0]"],
      ["the foundation", { excludedPackages: ["system/openssh", "system/base"] }, /system\/base cannot be left out: Every other package builds on it/, "excludedPackages[1]"],
      [
        "a package a kept base package requires, naming the dependent",
        { excludedPackages: ["system/networking"] },
        /system\/networking is required by system\/openssh; leave that out too or keep system\/networking/,
        "excludedPackages[0]",
      ],
      [
        "a package a layer requires",
        { layers: [plain, wantsSsh], excludedPackages: ["system/openssh"] },
        /system\/openssh is required by layer\/ssh-keys; remove it from the requires of that layer or keep system\/openssh/,
        "excludedPackages[0]",
      ],
    ];
    it.each(cases)("%s", async (_, input, message, path) => {
      const before = await rowCounts();
      const err = await refusal(saveRevision(db, customer, flavourId, input));
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.status).toBe(422);
      expect(err.message).toMatch(message);
      expect(issues(err).map((i) => i.path)).toContain(path);
      expect(await rowCounts()).toEqual(before);
      expect((await getFlavour(db, customer, flavourId)).latest).toMatchObject({ number: 2, excludedPackages: [] });
    });

    it("marks the layer that requires a left-out package too", async () => {
      const err = await refusal(saveRevision(db, customer, flavourId, { layers: [plain, wantsSsh], excludedPackages: ["system/openssh"] }));
      expect(issues(err)).toContainEqual(expect.objectContaining({ path: "layers[1].requires[0]", message: expect.stringMatching(/layer\/ssh-keys requires system\/openssh, which this flavour leaves out/) }));
    });

    it("refuses a layer that requires a package the latest revision leaves out", async () => {
      const flavour = await fork();
      await saveRevision(db, customer, flavour.id, { layers: [], excludedPackages: ["system/openssh"] });
      const err = await refusal(saveRevision(db, customer, flavour.id, { layers: [wantsSsh] }));
      expect(err.message).toMatch(/system\/openssh is required by layer\/ssh-keys/);
      expect((await getFlavour(db, customer, flavour.id)).latest.number).toBe(2);
    });

    it("names every dependent when several kept packages need it", async () => {
      const err = await refusal(saveRevision(db, customer, flavourId, { layers: [plain, pkg("layer", "vpn", ["system/networking"])], excludedPackages: ["system/networking"] }));
      expect(err.message).toMatch(/system\/networking is required by system\/openssh and layer\/vpn; leave out system\/openssh and remove it from the requires of layer\/vpn or keep system\/networking/);
    });
  });
});

describe("export and import keep what is left out", () => {
  it("round-trips through the YAML document", async () => {
    const flavour = await fork();
    await saveRevision(db, customer, flavour.id, { layers: [plain], excludedPackages: ["system/openssh"] });
    const { yaml } = await exportRevisionYaml(db, customer, flavour.id, 2);
    expect(yaml).toMatch(/excludedPackages:\s*\n\s*- system\/openssh/);
    const imported = await importFlavour(db, customer, { yaml, name: `${flavour.name}-y` });
    expect(imported.latest.excludedPackages).toEqual(["system/openssh"]);
    expect(ids(imported.latest.layers)).toEqual(["layer/motd"]);
    expect(ids(imported.latest.packages)).not.toContain("system/openssh");

    // A document without the field keeps the whole base.
    const full = await exportRevisionYaml(db, customer, flavour.id, 1);
    expect(full.yaml).not.toContain("excludedPackages");
  });

  it("refuses a YAML document leaving out what it may not, writing nothing", async () => {
    const flavour = await fork();
    const { yaml } = await exportRevisionYaml(db, customer, flavour.id, 1);
    const before = await rowCounts();
    for (const [excluded, message] of [
      ["system/grub-ish", /system\/grub-ish is not a package of/],
      ["system/kernel", /system\/kernel cannot be left out/],
      ["system/networking", /required by system\/openssh/],
    ] as const) {
      const err = await refusal(importFlavour(db, customer, { yaml: yaml.replace(/^layers:/m, `excludedPackages: [${excluded}]\nlayers:`), name: `${flavour.name}-bad` }));
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.message).toMatch(message);
    }
    expect(await rowCounts()).toEqual(before);
  });

  it("round-trips through the luet tree, which simply lacks the package", async () => {
    const flavour = await fork();
    await saveRevision(db, customer, flavour.id, { layers: [plain], excludedPackages: ["system/networking", "system/openssh"] });
    const bytes = await tarOf((await exportRevisionLuet(db, customer, flavour.id, 2)).stream);
    const names: string[] = [];
    const extract = tar.extract();
    extract.end(bytes);
    for await (const entry of extract) {
      names.push(entry.header.name);
      entry.resume();
    }
    expect(names).toContain("packages/system/extras/definition.yaml");
    expect(names.some((n) => n.startsWith("packages/system/openssh/"))).toBe(false);

    const imported = await importFlavour(db, customer, { luetTarBase64: bytes.toString("base64"), name: `${flavour.name}-t` });
    expect(imported.latest.base.id).toBe(baseId);
    expect(imported.latest.excludedPackages).toEqual(["system/networking", "system/openssh"]);
    expect(ids(imported.latest.layers)).toEqual(["layer/motd"]);
  });

  it("refuses a luet tree lacking a package a kept one requires, naming both", async () => {
    const manifest = { ...header, name: "by-hand", version: "1", packages: [BASE_PACKAGES[0], BASE_PACKAGES[1], BASE_PACKAGES[3], BASE_PACKAGES[4]] };
    // The tree itself is invalid (openssh requires a package not in it), so this reads as a tree problem.
    await expect(exportLuetTar(manifest as never)).rejects.toThrow(/system\/networking/);
    const before = await rowCounts();
    const noKernel = { ...header, name: "by-hand", version: "1", packages: [BASE_PACKAGES[0], BASE_PACKAGES[2], BASE_PACKAGES[3]] };
    const tarBytes = await exportLuetTar(noKernel as never);
    const err = await refusal(importFlavour(db, customer, { luetTarBase64: tarBytes.toString("base64"), name: `hand-${tag}` }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(/system\/kernel cannot be left out/);
    expect(await rowCounts()).toEqual(before);
  });
});

describe("rebase keeps what is left out", () => {
  it("carries the exclusions onto the new base", async () => {
    const newer = await publish(`2-${seq++}`, BASE_PACKAGES.map((p) => (p.name === "extras" ? { ...p, version: "2" } : p)));
    const flavour = await fork();
    await saveRevision(db, customer, flavour.id, { layers: [plain], excludedPackages: ["system/openssh"] });
    const preview = await previewRebase(db, customer, flavour.id, newer.id);
    expect(preview.problems).toEqual([]);
    expect(preview.notes).toEqual([]);
    expect(preview.excludedPackages).toEqual(["system/openssh"]);
    expect(preview.diff.changed.map((c) => c.id)).toEqual(["system/extras"]);
    expect(preview.diff.added).toEqual([]);
    const rebased = await rebaseFlavour(db, customer, flavour.id, { baseManifestId: newer.id });
    expect(rebased.excludedPackages).toEqual(["system/openssh"]);
    expect(ids(rebased.packages)).not.toContain("system/openssh");
  });

  it("drops an exclusion the target base has no package for, with a note", async () => {
    const withoutSsh = await publish(`3-${seq++}`, BASE_PACKAGES.filter((p) => p.name !== "openssh"));
    const flavour = await fork();
    await saveRevision(db, customer, flavour.id, { excludedPackages: ["system/openssh", "system/extras"] });
    const preview = await previewRebase(db, customer, flavour.id, withoutSsh.id);
    expect(preview.problems).toEqual([]);
    expect(preview.notes).toEqual([expect.stringMatching(/system\/openssh .* has no such package/)]);
    expect(preview.excludedPackages).toEqual(["system/extras"]);
    const rebased = await rebaseFlavour(db, customer, flavour.id, { baseManifestId: withoutSsh.id });
    expect(rebased.excludedPackages).toEqual(["system/extras"]);
  });

  it("refuses a rebase after which a kept package requires a left-out one (preview problem, 422, nothing written)", async () => {
    const needsSsh = await publish(`4-${seq++}`, [...BASE_PACKAGES, pkg("system", "ssh-monitor", ["system/openssh"])]);
    const flavour = await fork();
    await saveRevision(db, customer, flavour.id, { excludedPackages: ["system/openssh"] });
    const preview = await previewRebase(db, customer, flavour.id, needsSsh.id);
    expect(preview.problems).toEqual([{ path: "excludedPackages[0]", message: expect.stringMatching(/system\/openssh is required by system\/ssh-monitor/) }]);
    const before = await rowCounts();
    const err = await refusal(rebaseFlavour(db, customer, flavour.id, { baseManifestId: needsSsh.id }));
    expect(err.status).toBe(422);
    expect(err.message).toMatch(/system\/openssh is required by system\/ssh-monitor/);
    expect(await rowCounts()).toEqual(before);
    expect((await getRevision(db, customer, flavour.id, 2)).base.id).toBe(baseId);
  });
});
