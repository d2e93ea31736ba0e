import * as tar from "tar-stream";
import { describe, expect, test } from "vitest";
import { ValidationError } from "../errors";
import { loadBundledBaseManifests } from "./base";
import { MAX_LUET_ENTRIES, exportLuetTar, importLuetTar, luetTarStream, normaliseEntryName, type LuetIssue } from "./luet";
import { ManifestSchema, PackageDefinitionSchema, type Manifest, type PackageDefinition, type PackageDefinitionInput } from "./schema";

function pkg(id: string, extra: Partial<PackageDefinitionInput> = {}): PackageDefinition {
  const [category, name] = id.split("/");
  return PackageDefinitionSchema.parse({ category, name, version: "1", ...extra });
}

const small: Manifest = ManifestSchema.parse({
  name: "demo",
  version: "1",
  base_image: "strata/debian:bookworm",
  packages: [
    pkg("system/base", { steps: ["apt-get update"], excludes: ["^/tmp/"] }),
    pkg("layer/motd", {
      requires: ["system/base"],
      description: "greeting",
      files: [{ path: "/etc/motd", mode: "0600", content: "hello ✓\n" }],
      steps: ["chmod 0600 /etc/motd"],
    }),
  ],
});

type Entry = { name: string; body?: string | Buffer; type?: tar.Header["type"]; linkname?: string; size?: number };

async function makeTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  // Entries are queued without waiting: their callbacks only fire once the output is read below.
  for (const e of entries) {
    const header = { name: e.name, type: e.type ?? "file", linkname: e.linkname };
    if (e.type && e.type !== "file") pack.entry(header);
    else pack.entry(header, e.body ?? "");
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

async function listTar(buffer: Buffer): Promise<Map<string, string>> {
  const extract = tar.extract();
  extract.end(buffer);
  const out = new Map<string, string>();
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(Buffer.from(c as Uint8Array));
    out.set(entry.header.name, Buffer.concat(chunks).toString("utf8"));
  }
  return out;
}

async function importErrors(buffer: Buffer): Promise<LuetIssue[]> {
  try {
    await importLuetTar(buffer);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return ((err as ValidationError).details as { errors: LuetIssue[] }).errors;
  }
  throw new Error("expected the import to fail");
}

/** The export of `small` with some entries replaced or added. */
async function variant(change: (files: Map<string, string>) => void): Promise<Buffer> {
  const files = await listTar(await exportLuetTar(small));
  change(files);
  return makeTar([...files].map(([name, body]) => ({ name, body })));
}

describe("exportLuetTar", () => {
  test("writes the luet layout", async () => {
    const files = await listTar(await exportLuetTar(small));
    expect([...files.keys()]).toEqual([
      "manifest.yaml",
      "packages/system/base/definition.yaml",
      "packages/system/base/build.yaml",
      "packages/layer/motd/definition.yaml",
      "packages/layer/motd/build.yaml",
      "packages/layer/motd/overlay/etc/motd",
    ]);
    expect(files.get("manifest.yaml")).toBe(
      'name: demo\nversion: "1"\nbase_image: strata/debian:bookworm\npackages:\n  - system/base\n  - layer/motd\n',
    );
    expect(files.get("packages/layer/motd/definition.yaml")).toBe(
      'category: layer\nname: motd\nversion: "1"\ndescription: greeting\nrequires:\n  - category: system\n    name: base\n',
    );
    expect(files.get("packages/layer/motd/build.yaml")).toBe('steps:\n  - chmod 0600 /etc/motd\nfiles:\n  - path: /etc/motd\n    mode: "0600"\n');
    expect(files.get("packages/layer/motd/overlay/etc/motd")).toBe("hello ✓\n");
  });

  test("is deterministic", async () => {
    expect((await exportLuetTar(small)).equals(await exportLuetTar(small))).toBe(true);
  });

  test("the stream variant gives the same bytes", async () => {
    const chunks: Buffer[] = [];
    for await (const c of luetTarStream(small)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(await exportLuetTar(small))).toBe(true);
  });

  test("refuses an invalid manifest", async () => {
    const bad = { ...small, packages: [small.packages[1], small.packages[0]] };
    expect(() => luetTarStream(bad)).toThrow(/system\/base, which comes later/);
  });
});

describe("importLuetTar", () => {
  test("round-trips a small manifest", async () => {
    expect(await importLuetTar(await exportLuetTar(small))).toEqual(small);
  });

  test("round-trips the bundled base manifest", async () => {
    for (const manifest of await loadBundledBaseManifests()) {
      expect(await importLuetTar(await exportLuetTar(manifest))).toEqual(manifest);
    }
  });

  test("accepts ./-prefixed names and directory entries", async () => {
    const files = await listTar(await exportLuetTar(small));
    const entries: Entry[] = [{ name: "./", type: "directory" }, ...[...files].map(([name, body]) => ({ name: `./${name}`, body }))];
    expect(await importLuetTar(await makeTar(entries))).toEqual(small);
  });

  test("refuses absolute entry paths", async () => {
    const errors = await importErrors(await variant((f) => f.set("/etc/passwd", "x")));
    expect(errors).toContainEqual(expect.objectContaining({ file: "/etc/passwd", message: "absolute paths are not allowed" }));
  });

  test("refuses '..' in entry paths", async () => {
    const errors = await importErrors(await variant((f) => f.set("packages/../../evil", "x")));
    expect(errors).toContainEqual(expect.objectContaining({ file: "packages/../../evil", message: "'..' is not allowed in entry names" }));
  });

  test("refuses symlinks", async () => {
    const buffer = await makeTar([{ name: "manifest.yaml", type: "symlink", linkname: "/etc/shadow" }]);
    expect(await importErrors(buffer)).toEqual([expect.objectContaining({ file: "manifest.yaml", message: "links are not allowed" })]);
  });

  test("refuses hard links", async () => {
    const buffer = await makeTar([{ name: "manifest.yaml", body: "x" }, { name: "copy", type: "link", linkname: "manifest.yaml" }]);
    expect(await importErrors(buffer)).toContainEqual(expect.objectContaining({ file: "copy", message: "links are not allowed" }));
  });

  test("refuses entries over 1 MiB", async () => {
    const errors = await importErrors(await variant((f) => f.set("packages/layer/motd/overlay/etc/motd", "x".repeat(1024 * 1024 + 1))));
    expect(errors).toContainEqual(expect.objectContaining({ file: "packages/layer/motd/overlay/etc/motd", message: "entry is larger than 1 MiB" }));
  });

  test("refuses more than 500 entries", async () => {
    const entries: Entry[] = Array.from({ length: MAX_LUET_ENTRIES + 1 }, (_, i) => ({ name: `d${i}/`, type: "directory" }));
    const errors = await importErrors(await makeTar(entries));
    expect(errors.at(-1)?.message).toBe("the archive has more than 500 entries");
  });

  test("refuses bytes that are not a tar", async () => {
    const errors = await importErrors(Buffer.from("this is not a tar archive".repeat(40)));
    expect(errors[0].message).toMatch(/not a readable tar archive/);
  });

  test("a missing manifest.yaml is named", async () => {
    const errors = await importErrors(await variant((f) => f.delete("manifest.yaml")));
    expect(errors[0]).toMatchObject({ file: "manifest.yaml", message: "missing: the tree needs manifest.yaml at its root" });
  });

  test("a listed package without definition.yaml is named at its manifest line", async () => {
    const errors = await importErrors(await variant((f) => f.delete("packages/layer/motd/definition.yaml")));
    expect(errors).toContainEqual(expect.objectContaining({ file: "packages/layer/motd/definition.yaml", message: "missing: manifest.yaml lists layer/motd" }));
  });

  test("an unknown field in build.yaml names the file, field and line", async () => {
    const errors = await importErrors(await variant((f) => f.set("packages/system/base/build.yaml", "steps: [apt-get update]\nstep: [oops]\n")));
    expect(errors).toEqual([{ file: "packages/system/base/build.yaml", path: "step", message: 'unknown field "step"; did you mean "steps"?', line: 2, column: 1 }]);
  });

  test("a bad overlay mode in build.yaml names the file and field", async () => {
    const errors = await importErrors(await variant((f) => f.set("packages/layer/motd/build.yaml", 'files:\n  - path: /etc/motd\n    mode: "8888"\n')));
    expect(errors).toEqual([expect.objectContaining({ file: "packages/layer/motd/build.yaml", path: "files[0].mode", line: 3 })]);
  });

  test("a bad package name in definition.yaml names the file and field", async () => {
    const errors = await importErrors(
      await variant((f) => {
        f.set("manifest.yaml", f.get("manifest.yaml")!.replace("layer/motd", "layer/Motd"));
      }),
    );
    expect(errors[0]).toMatchObject({ file: "manifest.yaml", path: "packages[1]", line: 6 });
  });

  test("a definition whose name differs from its folder is refused", async () => {
    const errors = await importErrors(await variant((f) => f.set("packages/layer/motd/definition.yaml", 'category: layer\nname: other\nversion: "1"\n')));
    expect(errors).toContainEqual(expect.objectContaining({ file: "packages/layer/motd/definition.yaml", path: "name", line: 2 }));
  });

  test("requires pointing forward is reported in definition.yaml", async () => {
    const errors = await importErrors(
      await variant((f) => {
        f.set("packages/system/base/definition.yaml", 'category: system\nname: base\nversion: "1"\nrequires:\n  - { category: layer, name: motd }\n');
        f.set("packages/layer/motd/definition.yaml", 'category: layer\nname: motd\nversion: "1"\n');
      }),
    );
    expect(errors).toEqual([
      expect.objectContaining({ file: "packages/system/base/definition.yaml", path: "requires[0]", line: 5 }),
    ]);
    expect(errors[0].message).toMatch(/comes later/);
  });

  test("an overlay file listed in build.yaml but missing is named", async () => {
    const errors = await importErrors(await variant((f) => f.delete("packages/layer/motd/overlay/etc/motd")));
    expect(errors).toContainEqual(expect.objectContaining({ file: "packages/layer/motd/build.yaml", path: "files[0].path", message: "missing overlay content packages/layer/motd/overlay/etc/motd" }));
  });

  test("an overlay file not listed in build.yaml is refused", async () => {
    const errors = await importErrors(await variant((f) => f.set("packages/layer/motd/overlay/etc/issue", "x")));
    expect(errors).toEqual([expect.objectContaining({ file: "packages/layer/motd/overlay/etc/issue", message: "overlay file not listed in build.yaml files" })]);
  });

  test("a package folder not listed in manifest.yaml is refused", async () => {
    const errors = await importErrors(await variant((f) => f.set("packages/layer/extra/definition.yaml", 'category: layer\nname: extra\nversion: "1"\n')));
    expect(errors).toContainEqual(expect.objectContaining({ file: "packages/layer/extra/definition.yaml", message: "package layer/extra is not listed in manifest.yaml packages" }));
  });

  test("overlay content that is not UTF-8 is refused", async () => {
    const files = await listTar(await exportLuetTar(small));
    const entries: Entry[] = [...files].map(([name, body]) => ({ name, body: name.endsWith("/etc/motd") ? Buffer.from([0xff, 0xfe, 0x00]) : body }));
    const errors = await importErrors(await makeTar(entries));
    expect(errors).toContainEqual(expect.objectContaining({ file: "packages/layer/motd/overlay/etc/motd", message: "not valid UTF-8 text" }));
  });
});

test("normaliseEntryName", () => {
  expect(normaliseEntryName("./a//b/")).toEqual({ name: "a/b" });
  expect(normaliseEntryName("a\\b")).toEqual({ error: "backslashes are not allowed in entry names" });
});
