import { describe, expect, it } from "vitest";
import { applyLayer, classifyLayer, layerPath, netChanges, type RootfsPaths } from "./import-layers";
import { explainVersion } from "./version-name";

const file = (path: string, type: "file" | "directory" = "file") => ({ path, type, size: 1, mode: 0o644 });

describe("the paths of a stack of layers", () => {
  it("normalises tar names", () => {
    expect(layerPath("./etc/motd")).toBe("/etc/motd");
    expect(layerPath("etc/")).toBe("/etc");
    expect(layerPath("./")).toBeNull();
    expect(layerPath("../etc")).toBeNull();
  });

  it("applies whiteouts and opaque directories before the layer's own entries", () => {
    const paths: RootfsPaths = new Map();
    applyLayer(paths, [
      { name: "etc/", type: "directory" },
      { name: "etc/motd", type: "file" },
      { name: "opt/", type: "directory" },
      { name: "opt/a/", type: "directory" },
      { name: "opt/a/one", type: "file" },
      { name: "opt/a/two", type: "file" },
    ]);
    applyLayer(paths, [
      { name: "etc/.wh.motd", type: "file" },
      { name: "opt/a/", type: "directory" },
      { name: "opt/a/three", type: "file" },
      { name: "opt/a/.wh..wh..opq", type: "file" },
    ]);
    expect([...paths.keys()].sort()).toEqual(["/etc", "/opt", "/opt/a", "/opt/a/three"]);
  });
});

describe("what an extra layer changes", () => {
  it("tells added from changed and removed, and leaves out directories that existed", () => {
    const below: RootfsPaths = new Map([
      ["/etc", true],
      ["/etc/motd", false],
      ["/etc/gone", false],
      ["/usr", true],
    ]);
    const changes = classifyLayer(below, { files: [file("/etc", "directory"), file("/etc/motd"), file("/usr/new", "directory"), file("/usr/new/tool")], deleted: ["/etc/gone", "/never-there"] });
    expect(changes.paths).toEqual([
      { path: "/etc/gone", change: "removed" },
      { path: "/etc/motd", change: "changed" },
      { path: "/usr/new", change: "added" },
      { path: "/usr/new/tool", change: "added" },
    ]);
    expect([changes.added, changes.changed, changes.removed]).toEqual([2, 1, 1]);
    // The next layer sees this one.
    expect(below.has("/usr/new/tool")).toBe(true);
    expect(below.has("/etc/gone")).toBe(false);
  });

  it("lists what an opaque directory hid", () => {
    const below: RootfsPaths = new Map([
      ["/opt", true],
      ["/opt/a", false],
      ["/opt/b", false],
    ]);
    const changes = classifyLayer(below, { files: [file("/opt", "directory"), file("/opt/b")], deleted: ["/opt/"] });
    expect(changes.paths).toEqual([
      { path: "/opt/a", change: "removed" },
      { path: "/opt/b", change: "changed" },
    ]);
  });
});

describe("the net change of several layers", () => {
  it("folds layers: added then removed is nothing, removed then added is changed", () => {
    expect(
      netChanges([
        [
          { path: "/a", change: "added" },
          { path: "/b", change: "removed" },
          { path: "/c", change: "changed" },
        ],
        [
          { path: "/a", change: "removed" },
          { path: "/b", change: "added" },
          { path: "/c", change: "changed" },
          { path: "/d", change: "added" },
        ],
        [{ path: "/d", change: "changed" }],
      ]),
    ).toEqual([
      { path: "/b", change: "changed" },
      { path: "/c", change: "changed" },
      { path: "/d", change: "added" },
    ]);
  });
});

describe("import versions", () => {
  it("explains r1.1-import.2", () => {
    expect(explainVersion("r1.1-import.2")).toBe("import 2 of revision 1, build 1, made by hand");
    expect(explainVersion("r1.1-import.")).toBeNull();
  });
});
