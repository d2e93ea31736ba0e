import { describe, expect, it } from "vitest";
import { explainVersion, versionName } from "./version-name";

describe("version names", () => {
  it("names the n-th build of a revision", () => {
    expect(versionName(2, 1)).toBe("r2.1");
    expect(versionName(12, 30)).toBe("r12.30");
  });

  it("explains a version in words", () => {
    expect(explainVersion("r2.1")).toBe("revision 2, build 1");
    expect(explainVersion(versionName(12, 30))).toBe("revision 12, build 30");
  });

  it("does not guess at a version it did not name", () => {
    expect(explainVersion("1.2.3")).toBeNull();
    expect(explainVersion("r2")).toBeNull();
    expect(explainVersion("r2.1-rc")).toBeNull();
  });
});
