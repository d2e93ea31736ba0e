import { describe, expect, it } from "vitest";
import { authOptions } from "./next-auth";

process.env.NEXTAUTH_SECRET ??= "next-auth-unit-test-secret-0123456789";

describe("next-auth's redirect after sign-in and sign-out", () => {
  const redirect = (url: string) => authOptions().callbacks!.redirect!({ url, baseUrl: "https://localhost:3543" });

  it("keeps paths and same-origin URLs of this site", async () => {
    expect(await redirect("/flavours?x=1")).toBe("https://localhost:3543/flavours?x=1");
    expect(await redirect("https://localhost:3543/sign-in")).toBe("https://localhost:3543/sign-in");
  });

  it.each(["//evil.example", "/\\evil.example", "/%2F%2Fevil", "https://evil.example/", "javascript:alert(1)"])("sends %j to the dashboard", async (url) => {
    expect(await redirect(url)).toBe("https://localhost:3543/dashboard");
  });
});
