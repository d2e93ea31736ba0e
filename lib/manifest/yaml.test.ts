import { describe, expect, test } from "vitest";
import { parseLayersYaml, parseManifestYaml, parsePackageYaml } from "./parse";
import { ManifestSchema, PackageDefinitionSchema, type PackageDefinition, type PackageDefinitionInput } from "./schema";
import { toLayersYaml, toManifestYaml, toPackageYaml } from "./yaml";

function pkg(id: string, extra: Partial<PackageDefinitionInput> = {}): PackageDefinition {
  const [category, name] = id.split("/");
  return PackageDefinitionSchema.parse({ category, name, version: "1", ...extra });
}

describe("toPackageYaml", () => {
  test("writes keys in reading order and leaves out empty fields", () => {
    const def = pkg("system/motd", {
      excludes: ["^/tmp/"],
      files: [{ content: "hello\n", mode: "0644", path: "/etc/motd" }],
      steps: ["true"],
      requires: ["system/base"],
      description: "message of the day",
    });
    expect(toPackageYaml(def)).toBe(
      [
        "category: system",
        "name: motd",
        'version: "1"',
        "description: message of the day",
        "requires: [ system/base ]",
        "steps:",
        '  - "true"',
        "files:",
        "  - path: /etc/motd",
        '    mode: "0644"',
        "    content: |",
        "      hello",
        "excludes:",
        "  - ^/tmp/",
        "",
      ].join("\n"),
    );
  });

  test("multi-line steps become literal blocks", () => {
    const yaml = toPackageYaml(pkg("a/b", { steps: ["for x in 1 2; do\n  echo $x\ndone"] }));
    expect(yaml).toContain("  - |-\n    for x in 1 2; do\n      echo $x\n    done\n");
  });

  const tricky = [
    "plain",
    "ends with newline\n",
    "two trailing newlines\n\n",
    "\n",
    "  leading spaces\nsecond line",
    "trailing spaces   \nline",
    "tab\there\nline",
    "windows\r\nline\r\n",
    "yes",
    "0644",
    "null",
    "- looks like a list",
    "key: value",
    "# not a comment",
    "unicode ✓ and emoji 🚀\n",
    "control \u0007 char\nline",
    "",
  ];

  test.each(tricky.map((t) => [JSON.stringify(t), t]))("round-trips %s in steps and file content", (_label, text) => {
    const def = pkg("a/b", { description: text, steps: text ? [text] : [], files: [{ path: "/etc/x", content: text }] });
    const parsed = parsePackageYaml(toPackageYaml(def));
    expect(parsed).toEqual({ ok: true, value: def });
  });
});

describe("toManifestYaml / toLayersYaml", () => {
  test("a manifest round-trips and has a blank line between packages", () => {
    const manifest = ManifestSchema.parse({
      name: "demo",
      version: "1",
      base_image: "strata/debian:bookworm",
      packages: [pkg("system/base"), pkg("system/ssh", { requires: ["system/base"], steps: ["apt-get update"] })],
    });
    const yaml = toManifestYaml(manifest);
    expect(yaml.startsWith('name: demo\nversion: "1"\nbase_image: strata/debian:bookworm\npackages:\n')).toBe(true);
    expect(yaml).toContain('version: "1"\n\n  - category: system\n    name: ssh');
    expect(parseManifestYaml(yaml)).toEqual({ ok: true, value: manifest });
  });

  test("the bundled base manifest round-trips", async () => {
    const { loadBundledBaseManifests } = await import("./base");
    for (const manifest of await loadBundledBaseManifests()) expect(parseManifestYaml(toManifestYaml(manifest))).toEqual({ ok: true, value: manifest });
  });

  test("layers round-trip", () => {
    const layers = [pkg("layer/a"), pkg("layer/b", { requires: ["layer/a"] })];
    expect(parseLayersYaml(toLayersYaml(layers))).toEqual({ ok: true, value: layers });
    expect(parseLayersYaml(toLayersYaml([]))).toEqual({ ok: true, value: [] });
  });
});
