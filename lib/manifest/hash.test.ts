import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { PackageDefinitionSchema, type PackageDefinition, type PackageDefinitionInput } from "./schema";
import { ValidationError } from "../errors";
import { cacheKey, canonicalJson, definitionDigest, sortKeys, usesBuildEnv } from "./hash";

function pkg(id: string, extra: Partial<PackageDefinitionInput> = {}): PackageDefinition {
  const [category, name] = id.split("/");
  return PackageDefinitionSchema.parse({ category, name, version: "1", ...extra });
}

const env = (flavour: string) => ({ STRATA_FLAVOUR: flavour, STRATA_VERSION: "1.0", STRATA_BASE_VERSION: "1" });

describe("canonicalJson", () => {
  test("applies defaults, sorts keys recursively and has no whitespace", () => {
    expect(canonicalJson({ version: "1", name: "b", category: "a", files: [{ path: "/etc/x", content: "x" }] })).toBe(
      '{"category":"a","description":"","excludes":[],"files":[{"content":"x","mode":"0644","path":"/etc/x"}],"includes":[],"name":"b","requires":[],"steps":[],"version":"1"}',
    );
  });

  test("equal meaning gives equal text: defaults spelled out or not, any key order", () => {
    const short = { category: "a", name: "b", version: "1" };
    const long = { steps: [], requires: [], version: "1", description: "", name: "b", category: "a", files: [], includes: [], excludes: [] };
    expect(canonicalJson(short)).toBe(canonicalJson(long));
    expect(definitionDigest(short)).toBe(definitionDigest(long));
  });

  test("array order matters", () => {
    expect(definitionDigest(pkg("a/b", { steps: ["one", "two"] }))).not.toBe(definitionDigest(pkg("a/b", { steps: ["two", "one"] })));
  });

  test("the digest is hex sha256", () => {
    expect(definitionDigest(pkg("a/b"))).toMatch(/^[0-9a-f]{64}$/);
  });

  test("an invalid definition is a ValidationError naming the package and field", () => {
    const invalid = () => canonicalJson({ category: "a", name: "b", version: "1", files: [{ path: "rel", content: "" }] });
    expect(invalid).toThrow(ValidationError);
    expect(invalid).toThrow("a/b: files[0].path: path must be absolute (start with /)");
  });

  test("sortKeys keeps arrays in order and drops undefined", () => {
    expect(JSON.stringify(sortKeys({ b: [3, { z: 1, a: 2 }], a: undefined, c: null }))).toBe('{"b":[3,{"a":2,"z":1}],"c":null}');
  });
});

describe("cacheKey", () => {
  const plain = pkg("system/base", { steps: ["apt-get update"] });
  const stamped = pkg("system/os-release", { steps: ['echo "VARIANT=$STRATA_FLAVOUR" > /usr/lib/os-release'] });

  test("is sha256 of parent key, newline and canonical JSON for packages that ignore the build env", () => {
    const expected = createHash("sha256").update(`parent\n${canonicalJson(plain)}`).digest("hex");
    expect(cacheKey("parent", plain, env("edge"))).toBe(expected);
  });

  test("depends on the parent key", () => {
    expect(cacheKey("p1", plain)).not.toBe(cacheKey("p2", plain));
  });

  test("flavours share the key of packages that do not mention STRATA_", () => {
    expect(cacheKey("p", plain, env("edge"))).toBe(cacheKey("p", plain, env("kiosk")));
    expect(usesBuildEnv(plain)).toBe(false);
  });

  test("a step mentioning STRATA_ makes the env values part of the key", () => {
    expect(usesBuildEnv(stamped)).toBe(true);
    expect(cacheKey("p", stamped, env("edge"))).not.toBe(cacheKey("p", stamped, env("kiosk")));
    expect(cacheKey("p", stamped, env("edge"))).toBe(cacheKey("p", stamped, { ...env("edge"), UNRELATED: "x" }));
  });

  test("an overlay file mentioning STRATA_ counts too", () => {
    const withFile = pkg("layer/motd", { files: [{ path: "/usr/local/bin/motd", mode: "0755", content: "#!/bin/sh\necho $STRATA_VERSION\n" }] });
    expect(cacheKey("p", withFile, env("edge"))).not.toBe(cacheKey("p", withFile, { ...env("edge"), STRATA_VERSION: "2.0" }));
  });

  test("an empty parent key is refused", () => {
    expect(() => cacheKey("", plain)).toThrow(ValidationError);
  });
});
