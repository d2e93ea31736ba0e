import { describe, expect, test } from "vitest";
import { PackageDefinitionSchema, type PackageDefinition, type PackageDefinitionInput } from "./schema";
import { NotFoundError } from "../errors";
import { checkOrder, requiredBy, requiredByMap, requiresGraph, transitiveRequiredBy, transitiveRequires } from "./order";

function pkg(id: string, extra: Partial<PackageDefinitionInput> = {}): PackageDefinition {
  const [category, name] = id.split("/");
  return PackageDefinitionSchema.parse({ category, name, version: "1", ...extra });
}

describe("checkOrder", () => {
  test("a list whose requires all point backwards passes", () => {
    const list = [pkg("system/base"), pkg("system/systemd", { requires: ["system/base"] }), pkg("layer/x", { requires: ["system/base", "system/systemd"] })];
    expect(checkOrder(list)).toEqual([]);
  });

  test("a duplicate package id is reported on the second definition", () => {
    const errors = checkOrder([pkg("system/base"), pkg("system/foo"), pkg("system/base")]);
    expect(errors).toEqual([
      expect.objectContaining({ code: "duplicate_package", package: "system/base", index: 2, path: [2, "name"] }),
    ]);
    expect(errors[0].message).toMatch(/positions 1 and 3/);
  });

  test("requires naming an unknown package names both packages and the entry", () => {
    const errors = checkOrder([pkg("system/base"), pkg("system/foo", { requires: ["system/base", "system/ghost"] })]);
    expect(errors).toEqual([
      expect.objectContaining({ code: "unknown_requires", package: "system/foo", path: [1, "requires", 1] }),
    ]);
    expect(errors[0].message).toBe("system/foo requires system/ghost, which is not in the manifest");
  });

  test("requires naming a later package says how to fix it", () => {
    const errors = checkOrder([pkg("system/foo", { requires: ["system/base"] }), pkg("system/base")]);
    expect(errors).toEqual([expect.objectContaining({ code: "forward_requires", package: "system/foo", path: [0, "requires", 0] })]);
    expect(errors[0].message).toMatch(/comes later \(position 2\); move system\/base before system\/foo/);
  });

  test("a package requiring itself is reported", () => {
    const errors = checkOrder([pkg("system/foo", { requires: ["system/foo"] })]);
    expect(errors).toEqual([expect.objectContaining({ code: "self_requires", package: "system/foo", path: [0, "requires", 0] })]);
  });

  test("a cycle is reported once with all its members and the loop", () => {
    const list = [
      pkg("system/base"),
      pkg("system/a", { requires: ["system/base", "system/c"] }),
      pkg("system/b", { requires: ["system/a"] }),
      pkg("system/c", { requires: ["system/b"] }),
    ];
    const errors = checkOrder(list);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "requires_cycle", package: "system/a", path: [1, "requires", 1], members: ["system/a", "system/b", "system/c"] });
    expect(errors[0].message).toMatch(/system\/a → system\/c → system\/b → system\/a/);
  });

  test("two separate cycles give two errors", () => {
    const list = [
      pkg("x/a", { requires: ["x/b"] }),
      pkg("x/b", { requires: ["x/a"] }),
      pkg("y/a", { requires: ["y/b"] }),
      pkg("y/b", { requires: ["y/a"] }),
    ];
    expect(checkOrder(list).map((e) => e.members)).toEqual([["x/a", "x/b"], ["y/a", "y/b"]]);
  });

  test("the same overlay path twice in one package is reported on the second", () => {
    const errors = checkOrder([pkg("system/foo", { files: [{ path: "/etc/a", content: "1" }, { path: "/etc/a", content: "2" }] })]);
    expect(errors).toEqual([expect.objectContaining({ code: "duplicate_overlay_path", path: [0, "files", 1, "path"] })]);
  });
});

describe("requires graph helpers", () => {
  const list = [
    pkg("system/base"),
    pkg("system/systemd", { requires: ["system/base"] }),
    pkg("system/kernel", { requires: ["system/base"] }),
    pkg("system/dracut", { requires: ["system/systemd", "system/kernel"] }),
    // The schema refuses duplicate requires; the graph helpers still take unvalidated lists (e.g. from an editor) gracefully.
    { ...pkg("layer/x", { requires: ["system/dracut", "system/ghost"] }), requires: ["system/dracut", "system/dracut", "system/ghost"] },
  ];

  test("requiresGraph lists nodes in order and only edges to known packages, once", () => {
    const graph = requiresGraph(list);
    expect(graph.nodes.map((n) => n.id)).toEqual(["system/base", "system/systemd", "system/kernel", "system/dracut", "layer/x"]);
    expect(graph.edges.filter((e) => e.from === "layer/x")).toEqual([{ from: "layer/x", to: "system/dracut" }]);
  });

  test("requiredBy lists direct dependents", () => {
    expect(requiredBy(list, "system/base")).toEqual(["system/systemd", "system/kernel"]);
    expect(requiredByMap(list).get("layer/x")).toEqual([]);
  });

  test("transitiveRequires follows requires through other packages, in manifest order", () => {
    expect(transitiveRequires(list, "layer/x")).toEqual(["system/base", "system/systemd", "system/kernel", "system/dracut"]);
    expect(transitiveRequires(list, "system/base")).toEqual([]);
  });

  test("transitiveRequiredBy lists what depends on a package", () => {
    expect(transitiveRequiredBy(list, "system/kernel")).toEqual(["system/dracut", "layer/x"]);
  });

  test("transitiveRequires terminates on a cycle", () => {
    const cyclic = [pkg("x/a", { requires: ["x/b"] }), pkg("x/b", { requires: ["x/a"] })];
    expect(transitiveRequires(cyclic, "x/a")).toEqual(["x/b"]);
  });

  test("an unknown id is a NotFoundError", () => {
    expect(() => transitiveRequires(list, "system/ghost")).toThrow(NotFoundError);
  });
});
