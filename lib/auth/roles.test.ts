import { describe, expect, it } from "vitest";
import { canAccessOrg, hasRole, requireAdmin } from "./roles";
import type { Actor } from "./actor";
import { ForbiddenError } from "../errors";

const actor = (role: "admin" | "customer", orgId = "org-a"): Actor => ({
  user: { id: "u", email: "u@example.com", name: "U", role },
  org: { id: orgId, name: "A", slug: "a" },
  via: "session",
  scopes: role === "admin" ? ["read", "write", "admin"] : ["read", "write"],
});

describe("roles", () => {
  it("ranks admin above customer", () => {
    expect(hasRole(actor("admin"), "customer")).toBe(true);
    expect(hasRole(actor("customer"), "admin")).toBe(false);
  });
  it("refuses a customer where an admin is needed", () => {
    expect(() => requireAdmin(actor("customer"))).toThrow(ForbiddenError);
    expect(() => requireAdmin(actor("admin"))).not.toThrow();
  });
  it("scopes customers to their organisation and lets admins see all", () => {
    expect(canAccessOrg(actor("customer", "org-a"), "org-a")).toBe(true);
    expect(canAccessOrg(actor("customer", "org-a"), "org-b")).toBe(false);
    expect(canAccessOrg(actor("admin", "org-a"), "org-b")).toBe(true);
  });
});
