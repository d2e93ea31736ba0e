import { describe, expect, it } from "vitest";
import { exclusionProblems, keptBasePackages, normaliseExclusions, revisionPackages } from "./kept-packages";
import { ESSENTIAL_PACKAGES, essentialReason } from "../manifest/essential";

const pkg = (id: string, requires: string[] = []) => {
  const [category, name] = id.split("/");
  return { category, name, requires };
};
const base = [pkg("system/base"), pkg("system/systemd", ["system/base"]), pkg("system/networking", ["system/systemd"]), pkg("system/openssh", ["system/systemd", "system/networking"]), pkg("system/grub", ["system/base"])];
const ids = (list: Array<{ category: string; name: string }>) => list.map((p) => `${p.category}/${p.name}`);

describe("kept packages", () => {
  it("keeps the base order and appends the layers", () => {
    expect(ids(keptBasePackages(base, ["system/networking", "system/openssh"]))).toEqual(["system/base", "system/systemd", "system/grub"]);
    expect(ids(revisionPackages(base, { layers: [pkg("layer/a", ["system/base"])], excludedPackages: ["system/openssh"] }))).toEqual([
      "system/base",
      "system/systemd",
      "system/networking",
      "system/grub",
      "layer/a",
    ]);
    expect(normaliseExclusions(base, ["system/openssh", "system/networking", "system/openssh"])).toEqual(["system/networking", "system/openssh"]);
  });

  it("names the essential packages with a reason", () => {
    expect(Object.keys(ESSENTIAL_PACKAGES).sort()).toEqual(["system/base", "system/boot", "system/dracut", "system/grub", "system/kernel"]);
    expect(essentialReason("system/boot")).toMatch(/A\/B/);
    expect(essentialReason("system/openssh")).toBeUndefined();
    expect(essentialReason("constructor")).toBeUndefined();
  });
});

describe("exclusionProblems", () => {
  it("accepts a package nothing kept requires, and a dependent left out with it", () => {
    expect(exclusionProblems(base, [], ["system/openssh"])).toEqual([]);
    expect(exclusionProblems(base, [], ["system/networking", "system/openssh"])).toEqual([]);
  });

  it("refuses unknown and essential packages, and names what still requires one", () => {
    expect(exclusionProblems(base, [], ["system/nope"])).toEqual([{ path: "excludedPackages[0]", package: "system/nope", message: "system/nope is not a package of the base manifest; only base packages can be left out" }]);
    expect(exclusionProblems(base, [], ["system/grub"])[0].message).toMatch(/^system\/grub cannot be left out: It is the boot loader/);
    expect(exclusionProblems(base, [], ["system/networking"])).toEqual([
      { path: "excludedPackages[0]", package: "system/networking", message: "system/networking is required by system/openssh; leave that out too or keep system/networking" },
    ]);
    const problems = exclusionProblems(base, [pkg("layer/vpn", ["system/base", "system/openssh"])], ["system/openssh"]);
    expect(problems).toEqual([
      { path: "excludedPackages[0]", package: "system/openssh", message: "system/openssh is required by layer/vpn; remove it from the requires of that layer or keep system/openssh" },
      { path: "layers[0].requires[1]", package: "system/openssh", message: "layer/vpn requires system/openssh, which this flavour leaves out; keep system/openssh or remove it from requires" },
    ]);
  });
});
