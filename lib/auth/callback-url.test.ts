import { describe, expect, it } from "vitest";
import { safeCallbackPath } from "./callback-url";

describe("the page to go to after signing in", () => {
  it.each([
    ["/flavours/1?tab=builds#log", "/flavours/1?tab=builds#log"],
    ["/dashboard", "/dashboard"],
    ["/settings/tokens", "/settings/tokens"],
    ["/flavours?q=base%20image", "/flavours?q=base%20image"],
  ])("keeps a path on this site: %s", (raw, expected) => {
    expect(safeCallbackPath(raw)).toBe(expected);
  });

  it.each([
    "//evil.example",
    "//evil.example/dashboard",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2F%2Fevil",
    "/%2F%2Fevil.example",
    "/%252F%252Fevil.example",
    "/%5Cevil.example",
    "/\t/evil.example",
    "https://evil.example/dashboard",
    "http:evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "",
    "/%E0%A4%A",
  ])("falls back to /dashboard for %j", (raw) => {
    expect(safeCallbackPath(raw)).toBe("/dashboard");
  });

  it("falls back for what is not a string", () => {
    expect(safeCallbackPath(null)).toBe("/dashboard");
    expect(safeCallbackPath(["/x"])).toBe("/dashboard");
  });

  it("accepts an absolute URL of this site as its path, and refuses other origins", () => {
    const origin = "https://localhost:3543";
    expect(safeCallbackPath("https://localhost:3543/builds?x=1", { origin })).toBe("/builds?x=1");
    expect(safeCallbackPath("https://localhost:3543//evil.example", { origin })).toBe("/dashboard");
    expect(safeCallbackPath("https://localhost:3544/builds", { origin })).toBe("/dashboard");
    expect(safeCallbackPath("https://localhost:3543.evil.example/builds", { origin })).toBe("/dashboard");
  });
});
