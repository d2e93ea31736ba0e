import { describe, expect, test } from "vitest";
import { parseLayersYaml, parseManifestYaml, parsePackageYaml, type ParseIssue } from "./parse";
import type { PackageDefinition } from "./schema";

const header = `name: demo\nversion: "1"\nbase_image: strata/debian:bookworm\n`;

function errorsOf(result: { ok: true } | { ok: false; errors: ParseIssue[] }): ParseIssue[] {
  if (result.ok) throw new Error("expected the parse to fail");
  return result.errors;
}

/** A package YAML with one overlay file; `file` is the YAML of that file's mapping body. */
const withFile = (file: string) => `category: system\nname: demo\nversion: "1"\nfiles:\n  - ${file}\n`;

describe("parsePackageYaml", () => {
  test("accepts a valid package and applies the schema defaults", () => {
    const result = parsePackageYaml(`category: system\nname: motd\nversion: "1"\nsteps:\n  - echo hi\n`);
    expect(result).toEqual({
      ok: true,
      value: {
        category: "system",
        name: "motd",
        version: "1",
        description: "",
        requires: [],
        steps: ["echo hi"],
        files: [],
        includes: [],
        excludes: [],
      },
    });
  });

  test("invalid YAML is reported at its line", () => {
    const [error] = errorsOf(parsePackageYaml(`category: system\nname: demo\nsteps: [apt-get update\nversion: "1"\n`));
    expect(error.line).toBeGreaterThanOrEqual(3);
    expect(error.path).toBe("");
    expect(error.message).toMatch(/flow sequence|\]/i);
  });

  test("a duplicate key is a YAML error at the second key", () => {
    const [error] = errorsOf(parsePackageYaml(`category: system\nname: a\nname: b\nversion: "1"\n`));
    expect(error).toMatchObject({ line: 3 });
    expect(error.message).toMatch(/unique/i);
  });

  test("an unknown field is reported at its key, with a suggestion for a typo", () => {
    const errors = errorsOf(parsePackageYaml(`category: system\nname: demo\nversion: "1"\nstep:\n  - echo hi\n`));
    expect(errors).toEqual([
      { path: "step", message: 'unknown field "step"; did you mean "steps"?', line: 4, column: 1, package: "system/demo" },
    ]);
  });

  test("bad characters in the name are reported on the name", () => {
    const errors = errorsOf(parsePackageYaml(`category: system\nname: My_Package\nversion: "1"\n`));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: "name", line: 2, column: 7 });
    expect(errors[0].message).toMatch(/a-z, 0-9 and '-'/);
  });

  test("a missing required field is named and placed on the mapping", () => {
    const errors = errorsOf(parsePackageYaml(`category: system\nname: demo\n`));
    expect(errors).toEqual([{ path: "version", message: "version is required", line: 1, column: 1, package: "system/demo" }]);
  });

  test("a number where a string is expected names the field", () => {
    const [error] = errorsOf(parsePackageYaml(`category: system\nname: demo\nversion: "1"\ndescription: 1\n`));
    expect(error).toMatchObject({ path: "description", line: 4, column: 14 });
    expect(error.message).toMatch(/expected string/);
  });

  test("an unquoted numeric version is taken as written", () => {
    const result = parsePackageYaml(`category: system\nname: demo\nversion: 12\n`);
    expect(result.ok && result.value.version).toBe("12");
  });

  test("requires naming a package twice is refused", () => {
    const [error] = errorsOf(parsePackageYaml(`category: layer\nname: demo\nversion: "1"\nrequires: [system/base, system/base]\n`));
    expect(error).toMatchObject({ path: "requires", message: "requires lists a package twice" });
  });

  test("an overlay path of / says it must name a file", () => {
    const [error] = errorsOf(parsePackageYaml(withFile(`{ path: /, content: hi }`)));
    expect(error.message).toBe("path must name a file, not a directory");
  });

  test("a relative overlay path is refused", () => {
    const [error] = errorsOf(parsePackageYaml(withFile(`{ path: etc/motd, content: hi }`)));
    expect(error).toMatchObject({ path: "files[0].path", line: 5, message: "path must be absolute (start with /)" });
  });

  test("an overlay path with '..' is refused", () => {
    const [error] = errorsOf(parsePackageYaml(withFile(`{ path: /etc/../root/.ssh/authorized_keys, content: hi }`)));
    expect(error).toMatchObject({ path: "files[0].path", message: "path must not contain '..'" });
  });

  test.each(["/proc/sys/kernel/hostname", "/sys/kernel/debug", "/dev/sda"])("an overlay path in %s is refused", (path) => {
    const [error] = errorsOf(parsePackageYaml(withFile(`{ path: ${path}, content: hi }`)));
    expect(error).toMatchObject({ path: "files[0].path", message: "path must not point into /proc, /sys or /dev" });
  });

  test("mode 8888 is refused (not octal)", () => {
    const [error] = errorsOf(parsePackageYaml(withFile(`{ path: /etc/motd, mode: "8888", content: hi }`)));
    expect(error).toMatchObject({ path: "files[0].mode", line: 5 });
    expect(error.message).toMatch(/octal/);
  });

  test("mode 77777 is refused (too many digits)", () => {
    const [error] = errorsOf(parsePackageYaml(withFile(`{ path: /etc/motd, mode: "77777", content: hi }`)));
    expect(error).toMatchObject({ path: "files[0].mode" });
    expect(error.message).toMatch(/octal/);
  });

  test("an overlay file over 1 MiB is refused", () => {
    const big = "x".repeat(1024 * 1024 + 1);
    const [error] = errorsOf(parsePackageYaml(withFile(`{ path: /etc/big, content: ${big} }`)));
    expect(error).toMatchObject({ path: "files[0].content", message: "file content is larger than 1 MiB" });
  });

  test("overlay files over the per-package total are refused", () => {
    const mib = "x".repeat(1024 * 1024);
    const files = [1, 2, 3, 4, 5].map((i) => `  - { path: /etc/f${i}, content: ${mib} }`).join("\n");
    const errors = errorsOf(parsePackageYaml(`category: system\nname: demo\nversion: "1"\nfiles:\n${files}\n`));
    expect(errors).toEqual([
      { path: "files", message: "overlay files of one package exceed 4 MiB in total", line: 5, column: 3, package: "system/demo" },
    ]);
  });

  test("an invalid regular expression in excludes names its index", () => {
    const [error] = errorsOf(parsePackageYaml(`category: system\nname: demo\nversion: "1"\nexcludes: ["^/ok/", "(unclosed"]\n`));
    expect(error).toMatchObject({ path: "excludes[1]", line: 4 });
  });

  test("an empty document says what is expected", () => {
    const [error] = errorsOf(parsePackageYaml("# nothing here\n"));
    expect(error.message).toMatch(/empty.*category, name, version/);
  });

  test("two YAML documents in one text are refused", () => {
    const [error] = errorsOf(parsePackageYaml(`category: a\nname: b\nversion: "1"\n---\ncategory: c\n`));
    expect(error.message).toMatch(/multiple documents/i);
  });

  test("alias expansion is capped", () => {
    const lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 8; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(",")}]`);
    const [error] = errorsOf(parsePackageYaml(lines.join("\n") + "\n"));
    expect(error.message).toMatch(/alias/i);
  });
});

describe("parseManifestYaml", () => {
  const pkg = (name: string, extra = "") => `  - category: system\n    name: ${name}\n    version: "1"\n${extra}`;

  test("errors inside a package carry the package id and the full path", () => {
    const text = header + "packages:\n" + pkg("a") + pkg("b", "    files:\n      - { path: /etc/x, mode: '999', content: x }\n");
    const [error] = errorsOf(parseManifestYaml(text));
    expect(error).toMatchObject({ path: "packages[1].files[0].mode", package: "system/b", line: 12 });
  });

  test("an unknown header field suggests the right one", () => {
    const errors = errorsOf(parseManifestYaml(`name: demo\nversion: "1"\nbaseimage: x\npackages:\n${pkg("a")}`));
    expect(errors.find((e) => e.path === "base_image")?.message).toBe("base_image is required");
    expect(errors.find((e) => e.path === "baseimage")).toMatchObject({ path: "baseimage", line: 3, message: 'unknown field "baseimage"; did you mean "base_image"?' });
  });

  test("a duplicate package is reported on the second one", () => {
    const [error] = errorsOf(parseManifestYaml(header + "packages:\n" + pkg("a") + pkg("a")));
    expect(error).toMatchObject({ path: "packages[1].name", package: "system/a", line: 9 });
    expect(error.message).toMatch(/defined twice/);
  });

  test("requires naming an unknown package is reported on that entry", () => {
    const [error] = errorsOf(parseManifestYaml(header + "packages:\n" + pkg("a", "    requires: [system/nope]\n")));
    expect(error).toMatchObject({ path: "packages[0].requires[0]", package: "system/a", line: 8, column: 16 });
    expect(error.message).toMatch(/system\/nope, which is not in the manifest/);
  });

  test("requires naming a later package is reported with the fix", () => {
    const [error] = errorsOf(parseManifestYaml(header + "packages:\n" + pkg("a", "    requires: [system/b]\n") + pkg("b")));
    expect(error).toMatchObject({ path: "packages[0].requires[0]", line: 8 });
    expect(error.message).toMatch(/comes later .* move system\/b before system\/a/);
  });

  test("a requires cycle is reported once, with its members", () => {
    const text = header + "packages:\n" + pkg("a", "    requires: [system/b]\n") + pkg("b", "    requires: [system/a]\n");
    const errors = errorsOf(parseManifestYaml(text));
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/cycle: system\/a → system\/b → system\/a/);
  });

  test("checkOrder: false skips the manifest-level checks", () => {
    const result = parseManifestYaml(header + "packages:\n" + pkg("a", "    requires: [system/nope]\n"), { checkOrder: false });
    expect(result.ok).toBe(true);
  });

  test("a manifest without packages is refused", () => {
    const [error] = errorsOf(parseManifestYaml(header + "packages: []\n"));
    expect(error).toMatchObject({ path: "packages", message: "a manifest needs at least one package", line: 4 });
  });
});

describe("parseLayersYaml", () => {
  const base: PackageDefinition[] = [
    { category: "system", name: "base", version: "1", description: "", requires: [], steps: [], files: [], includes: [], excludes: [] },
  ];

  test("reads a list of layers and checks them against the base", () => {
    const text = `- category: layer\n  name: tools\n  version: "1"\n  requires: [system/base]\n`;
    const result = parseLayersYaml(text, { base });
    expect(result.ok && result.value.map((l) => l.name)).toEqual(["tools"]);
  });

  test("a layer requiring an unknown package is placed in the layers text", () => {
    const text = `- category: layer\n  name: tools\n  version: "1"\n  requires: [system/missing]\n`;
    const [error] = errorsOf(parseLayersYaml(text, { base }));
    expect(error).toMatchObject({ path: "[0].requires[0]", package: "layer/tools", line: 4 });
  });

  test("a layer redefining a base package is a duplicate", () => {
    const [error] = errorsOf(parseLayersYaml(`- { category: system, name: base, version: "2" }\n`, { base }));
    expect(error.message).toMatch(/system\/base is defined twice/);
    expect(error.line).toBe(1);
  });

  test("a mapping instead of a list is refused", () => {
    const [error] = errorsOf(parseLayersYaml(`category: layer\nname: x\nversion: "1"\n`));
    expect(error.message).toMatch(/expected array/);
  });
});
