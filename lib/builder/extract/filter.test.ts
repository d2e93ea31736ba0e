// Includes/excludes patterns: matched by RE2 in linear time, refused at save time when they cannot be; and the entries
// limit of an artefact, reached while streaming.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { ArtefactStore } from "../artefact-store";
import { artefactMaxEntries } from "../limits";
import { parseLayersYaml, parseManifestYaml, parsePackageYaml } from "../../manifest/parse";
import { compilePathPattern, MAX_PATTERN_CHARS } from "../../manifest/path-pattern";
import { PackageDefinitionSchema } from "../../manifest/schema";
import { loadBundledBaseManifests } from "../../manifest/base";
import { ArtefactEntriesLimitError, ArtefactFilterError, classifyEntry, compileFilter, repackLayer, repackLayerTar, withinEntryLimit, type LayerEntry } from "./index";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "strata-filter-"));
const store = new ArtefactStore(root);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const file = (name: string): LayerEntry => ({ name, type: "file", mode: 0o644, uid: 0, gid: 0, size: 0, mtime: new Date(0) });
const decide = (filter: { includes?: string[]; excludes?: string[] }, name: string) => classifyEntry(file(name), compileFilter(filter), new Set()).action;

describe("includes and excludes patterns", () => {
  it("keep matching as the seed manifests expect: unanchored search, ^ and $ at the ends, directories with a slash", () => {
    const filter = { includes: ["^/(etc|opt)/", "\\.conf$"], excludes: ["^/etc/cache/", "\\/skip\\/"] };
    expect(decide(filter, "etc/motd")).toBe("keep");
    expect(decide(filter, "usr/lib/app.conf")).toBe("keep");
    expect(decide(filter, "usr/lib/app.conf.bak")).toBe("skip");
    expect(decide(filter, "etc/cache/x")).toBe("skip");
    expect(decide(filter, "opt/skip/x")).toBe("skip");
    expect(classifyEntry({ ...file("etc/cache"), type: "directory" }, compileFilter(filter), new Set()).action).toBe("skip");
  });

  it("matches (a+)+$ against a crafted 50 000-character path at once instead of backtracking for ever", () => {
    // With JavaScript's RegExp this test would not end: (a+)+$ tries 2^50000 ways to split the a's before "!".
    const filter = compileFilter({ excludes: ["(a+)+$"] });
    const crafted = `opt/${"a".repeat(50_000)}!`;
    expect(classifyEntry(file(crafted), filter, new Set()).action).toBe("keep");
    expect(classifyEntry(file(`opt/${"a".repeat(50_000)}`), filter, new Set()).action).toBe("skip");
  });

  it("accepts every pattern of the bundled base manifests and of the catalog", async () => {
    const manifests = await loadBundledBaseManifests();
    const patterns = manifests.flatMap((m) => m.packages.flatMap((p) => [...p.includes, ...p.excludes]));
    expect(patterns.length).toBeGreaterThan(0);
    for (const pattern of patterns) expect(compilePathPattern(pattern)).toMatchObject({ ok: true });
  });

  it.each([
    ["(a)\\1", /layer\/x: excludes pattern "\(a\)\\1" is not supported: backreferences .* cannot be matched in linear time/],
    ["(?<n>a)\\k<n>", /is not supported: backreferences/],
    ["^/etc/(?!keep)", /is not supported: lookahead .* cannot be matched in linear time/],
    ["(?<=/usr)/lib", /is not supported: lookbehind .* cannot be matched in linear time/],
    ["^/var/(cache", /excludes pattern "\^\/var\/\(cache" is not a valid regular expression \(RE2 syntax\): missing closing \)/],
    ["[a-z]{900}[0-9]{900}", /is not supported: it compiles to \d+ instructions, more than the 1000 allowed/],
    ["a".repeat(MAX_PATTERN_CHARS + 1), /is not supported: it is 1001 characters long, more than the 1000 allowed/],
  ])("refuses %s at save time, naming the package, the pattern and why", (pattern, message) => {
    const parsed = PackageDefinitionSchema.safeParse({ category: "layer", name: "x", version: "1", excludes: ["^/tmp/", pattern] });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues).toEqual([expect.objectContaining({ path: ["excludes", 1], message: expect.stringMatching(message) })]);
  });

  it("does not take a backslash-digit inside a class, or a literal (?= inside one, for a backreference or lookahead", () => {
    expect(compilePathPattern("[(?=]x")).toMatchObject({ ok: true });
    expect(compilePathPattern("\\\\1")).toMatchObject({ ok: true });
  });

  it("refuses patterns that are each small but together too big for one package", () => {
    const pattern = "[a-z]{300}";
    const parsed = PackageDefinitionSchema.safeParse({ category: "layer", name: "x", version: "1", includes: [pattern, pattern], excludes: [pattern, pattern, pattern, pattern, pattern, pattern] });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0].message).toMatch(/layer\/x: the includes and excludes patterns compile to \d+ instructions together, more than the 2000 allowed/);
  });

  it("places the refusal at the pattern's line in the layer editor, the YAML import and a base manifest", () => {
    const layerYaml = `category: layer\nname: x\nversion: "1"\nexcludes:\n  - ^/tmp/\n  - (a)\\1\n`;
    const pkg = parsePackageYaml(layerYaml);
    expect(pkg.ok).toBe(false);
    expect(!pkg.ok && pkg.errors[0]).toMatchObject({ path: "excludes[1]", line: 6, package: "layer/x", message: expect.stringMatching(/^layer\/x: excludes pattern "\(a\)\\1" is not supported/) });

    const layers = parseLayersYaml(`- category: layer\n  name: y\n  version: "1"\n  includes: ["(?=x)"]\n`);
    expect(!layers.ok && layers.errors[0]).toMatchObject({ path: "[0].includes[0]", message: expect.stringMatching(/^layer\/y: includes pattern .* lookahead/) });

    const manifest = parseManifestYaml(`name: m\nversion: "1"\nbase_image: strata/debian:bookworm\npackages:\n  - category: system\n    name: z\n    version: "1"\n    excludes: ["(a)\\\\1"]\n`);
    expect(!manifest.ok && manifest.errors[0]).toMatchObject({ path: "packages[0].excludes[0]", message: expect.stringMatching(/^system\/z: excludes pattern/) });
  });

  it("fails the extraction of a package whose pattern was saved before patterns were checked, with the same message", async () => {
    expect(() => compileFilter({ excludes: ["(a)\\1"] }, "layer/old")).toThrow(ArtefactFilterError);
    expect(() => compileFilter({ excludes: ["(a)\\1"] }, "layer/old")).toThrow(/^layer\/old: excludes pattern "\(a\)\\1" is not supported: backreferences.*Edit the package's excludes and build again\.$/);
    await expect(repackLayer((async function* () {})(), { filter: { includes: ["(?<=x)"] }, store, packageId: "layer/old" })).rejects.toThrow(/layer\/old: includes pattern/);
  });
});

async function layerOf(count: number, extra: Parameters<tar.Pack["entry"]>[0][] = []): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: "data/", type: "directory" });
  for (let i = 0; i < count; i++) pack.entry({ name: `data/f${i}` }, "");
  for (const header of extra) pack.entry(header, "");
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("the entries limit of an artefact", () => {
  it("stops at the limit with a message naming the package and the setting, and stores nothing", async () => {
    const own = new ArtefactStore(path.join(root, "limit"));
    const err = await repackLayerTar(Readable.from(await layerOf(3000)), { filter: {}, store: own, maxEntries: 1000, packageId: "layer/many" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtefactEntriesLimitError);
    expect((err as Error).message).toMatch(/^layer\/many's layer has more than 1000 files \(the limit, STRATA_ARTEFACT_MAX_ENTRIES\); .*excludes pattern/);
    expect((err as { retryable: boolean }).retryable).toBe(false);
    // No blob: only the store's temporary folder, empty again.
    expect(fs.readdirSync(own.root)).toEqual(["tmp"]);
    expect(fs.readdirSync(path.join(own.root, "tmp"))).toEqual([]);
  });

  it("keeps a layer with exactly the limit, and counts only what the artefact records (not excluded entries)", async () => {
    const exact = await repackLayerTar(Readable.from(await layerOf(999)), { filter: {}, store, maxEntries: 1000 });
    expect(exact.files).toHaveLength(1000);
    const filtered = await repackLayerTar(Readable.from(await layerOf(3000)), { filter: { excludes: ["^/data/f[0-9]*[0-9]{2}$"] }, store, maxEntries: 1000 });
    expect(filtered.files.length).toBeLessThanOrEqual(1000);
    expect(filtered.files.map((f) => f.path)).toContain("/data/f7");
  });

  it("counts deletions and rejected entries too", async () => {
    const whiteouts = Array.from({ length: 20 }, (_, i) => ({ name: `data/.wh.gone${i}` }));
    await expect(repackLayerTar(Readable.from(await layerOf(0, whiteouts)), { filter: {}, store, maxEntries: 10 })).rejects.toThrow(/The layer has more than 10 files/);
    const fifos = Array.from({ length: 20 }, (_, i) => ({ name: `data/p${i}`, type: "fifo" as const }));
    await expect(repackLayerTar(Readable.from(await layerOf(0, fifos)), { filter: {}, store, maxEntries: 10 })).rejects.toThrow(ArtefactEntriesLimitError);
  });

  it("reads STRATA_ARTEFACT_MAX_ENTRIES, 200000 by default, and says what is wrong with it", () => {
    expect(artefactMaxEntries({})).toBe(200_000);
    expect(artefactMaxEntries({ STRATA_ARTEFACT_MAX_ENTRIES: "1000" })).toBe(1000);
    expect(() => artefactMaxEntries({ STRATA_ARTEFACT_MAX_ENTRIES: "lots" })).toThrow(/STRATA_ARTEFACT_MAX_ENTRIES must be a positive number/);
    expect(() => artefactMaxEntries({ STRATA_ARTEFACT_MAX_ENTRIES: "10.5" })).toThrow(/STRATA_ARTEFACT_MAX_ENTRIES must be a whole number/);
  });

  it("does not reuse an artefact indexed under a higher limit", () => {
    const files = Array.from({ length: 5 }, (_, i) => ({ path: `/f${i}`, type: "file" as const, size: 0, mode: 0o644 }));
    expect(withinEntryLimit({ files, deleted: [], rejected: [] }, 5)).toBe(true);
    expect(withinEntryLimit({ files, deleted: ["/x"], rejected: [] }, 5)).toBe(false);
  });
});
