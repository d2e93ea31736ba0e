// The committed client types (lib/api/client.generated.ts) are what the current route declarations generate: a
// declaration changed without regenerating fails here, so the client that scripts and tests use cannot drift.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { CLIENT_FILE, generateClientTypes } from "./openapi-client";

describe("lib/api/client.generated.ts", () => {
  it("is what `npm run api:client` generates from the declarations now", async () => {
    const fresh = await generateClientTypes();
    const committed = fs.existsSync(CLIENT_FILE) ? fs.readFileSync(CLIENT_FILE, "utf8") : "";
    // Compared whole, but reported as the first differing line: a 10,000-line diff helps nobody.
    if (committed !== fresh) {
      const a = committed.split("\n");
      const b = fresh.split("\n");
      let line = 0;
      while (line < Math.max(a.length, b.length) && a[line] === b[line]) line++;
      expect.fail(
        `lib/api/client.generated.ts is out of date with the route declarations (first difference at line ${line + 1}: ` +
          `committed ${JSON.stringify(a[line] ?? "<end of file>")}, generated ${JSON.stringify(b[line] ?? "<end of file>")}). Run \`npm run api:client\` and commit the result.`,
      );
    }
  }, 60_000);

  it("types the operations a client calls", async () => {
    const text = await generateClientTypes();
    expect(text).toContain('"/api/v1/flavours/{id}": {');
    expect(text).toMatch(/getFlavoursById: \{/);
  }, 60_000);
});
