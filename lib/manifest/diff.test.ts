import { describe, expect, test } from "vitest";
import { PackageDefinitionSchema, type PackageDefinition, type PackageDefinitionInput } from "./schema";
import { MAX_EDIT_DISTANCE, diffPackages, lineDiff, type DiffLine } from "./diff";

function pkg(id: string, extra: Partial<PackageDefinitionInput> = {}): PackageDefinition {
  const [category, name] = id.split("/");
  return PackageDefinitionSchema.parse({ category, name, version: "1", ...extra });
}

/** Applying a diff's kept and added lines must give back `b`; its kept and deleted lines must give back `a`. */
function apply(lines: DiffLine[]) {
  return {
    a: lines.filter((l) => l.kind !== "add").map((l) => l.text),
    b: lines.filter((l) => l.kind !== "del").map((l) => l.text),
    edits: lines.filter((l) => l.kind !== "same").length,
  };
}

describe("lineDiff", () => {
  test("marks a changed line as deleted and added, keeping the rest", () => {
    expect(lineDiff("a\nb\nc\n", "a\nB\nc\n")).toEqual([
      { kind: "same", text: "a" },
      { kind: "del", text: "b" },
      { kind: "add", text: "B" },
      { kind: "same", text: "c" },
    ]);
  });

  test("finds the shortest edit script (classic ABCABBA → CBABAC has 5 edits)", () => {
    const a = "ABCABBA".split("").join("\n");
    const b = "CBABAC".split("").join("\n");
    const result = apply(lineDiff(a, b));
    expect(result.a.join("\n")).toBe(a);
    expect(result.b.join("\n")).toBe(b);
    expect(result.edits).toBe(5);
  });

  test("handles empty sides", () => {
    expect(lineDiff("", "")).toEqual([]);
    expect(lineDiff("", "x\ny")).toEqual([{ kind: "add", text: "x" }, { kind: "add", text: "y" }]);
    expect(lineDiff("x", "")).toEqual([{ kind: "del", text: "x" }]);
  });

  test("a final newline does not add an empty line", () => {
    expect(lineDiff("x\n", "x")).toEqual([{ kind: "same", text: "x" }]);
  });

  test("random edits always reconstruct both sides", () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 50; round++) {
      const a = Array.from({ length: Math.floor(rand() * 30) }, () => "abcde"[Math.floor(rand() * 5)]);
      const b = a.filter(() => rand() > 0.2).flatMap((l) => (rand() > 0.8 ? [l, "x"] : [l]));
      const result = apply(lineDiff(a.join("\n"), b.join("\n")));
      expect(result.a).toEqual(a);
      expect(result.b).toEqual(b);
    }
  });

  test("beyond the edit limit the middle is reported as replaced, still correct", () => {
    const a = Array.from({ length: MAX_EDIT_DISTANCE + 10 }, (_, i) => `a${i}`);
    const b = Array.from({ length: MAX_EDIT_DISTANCE + 10 }, (_, i) => `b${i}`);
    const result = apply(lineDiff(["same", ...a].join("\n"), ["same", ...b].join("\n")));
    expect(result.a).toEqual(["same", ...a]);
    expect(result.b).toEqual(["same", ...b]);
  });
});

describe("diffPackages", () => {
  const base = pkg("system/base", { steps: ["apt-get update"] });
  const ssh = pkg("system/ssh", { requires: ["system/base"] });
  const motd = pkg("layer/motd", { files: [{ path: "/etc/motd", content: "hi\n" }] });

  test("sorts packages into added, removed, changed and unchanged", () => {
    const tools = pkg("layer/tools");
    const motd2 = pkg("layer/motd", { files: [{ path: "/etc/motd", content: "hello\n" }] });
    const diff = diffPackages([base, ssh, motd], [base, motd2, tools]);
    expect(diff.added.map((p) => p.name)).toEqual(["tools"]);
    expect(diff.removed.map((p) => p.name)).toEqual(["ssh"]);
    expect(diff.unchanged).toEqual(["system/base"]);
    expect(diff.changed).toHaveLength(1);
    expect(diff.changed[0].id).toBe("layer/motd");
    expect(diff.changed[0].lines.filter((l) => l.kind !== "same")).toEqual([
      { kind: "del", text: "      hi" },
      { kind: "add", text: "      hello" },
    ]);
    expect(diff.moved).toEqual([]);
  });

  test("spelling out defaults is not a change", () => {
    const spelled = { ...base, description: "", includes: [] };
    expect(diffPackages([base], [spelled]).unchanged).toEqual(["system/base"]);
  });

  test("reordering reports the fewest moved packages", () => {
    const a = pkg("x/a");
    const b = pkg("x/b");
    const c = pkg("x/c");
    const d = pkg("x/d");
    const diff = diffPackages([a, b, c, d], [a, c, d, b]);
    expect(diff.moved).toEqual(["x/b"]);
    expect(diff.unchanged).toEqual(["x/a", "x/c", "x/d", "x/b"]);
  });
});
