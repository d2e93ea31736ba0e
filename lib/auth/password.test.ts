import { describe, expect, it } from "vitest";
import { hashPassword, passwordWeakness, verifyPassword } from "./password";

describe("passwords", () => {
  it("hashes with argon2id and verifies only the right password", async () => {
    const h = await hashPassword("Correct-Horse-9");
    expect(h.startsWith("$argon2id$")).toBe(true);
    expect(await verifyPassword(h, "Correct-Horse-9")).toBe(true);
    expect(await verifyPassword(h, "correct-horse-9")).toBe(false);
    expect(await verifyPassword("not a hash", "x")).toBe(false);
  });

  it.each([
    ["short", "Ab1!"],
    ["one class", "abcdefghijkl"],
    ["repeated", "aaaaaaaaaaaaaaaaaaaa"],
  ])("refuses a weak password (%s)", (_why, pw) => {
    expect(passwordWeakness(pw)).not.toBeNull();
  });

  it("refuses a password containing the e-mail name", () => {
    expect(passwordWeakness("Maryjane-2026!", "maryjane@example.com")).toMatch(/e-mail/);
  });

  it("accepts a mixed or long password", () => {
    expect(passwordWeakness("Tr0ub4dor&3x")).toBeNull();
    expect(passwordWeakness("correct horse battery staple")).toBeNull();
  });
});
