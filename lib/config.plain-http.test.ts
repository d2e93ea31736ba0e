// Plain HTTP carries session cookies and API tokens in clear text: loopback by default, a network address only when asked.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { isLoopback, plainHttpHost } from "./config";

describe("plainHttpHost", () => {
  it("listens on loopback by default, whatever HOST says", () => {
    expect(plainHttpHost({})).toBe("127.0.0.1");
    expect(plainHttpHost({ HOST: "0.0.0.0" })).toBe("127.0.0.1");
  });

  it.each(["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"])("accepts the loopback address %s", (host) => {
    expect(plainHttpHost({ HTTP_HOST: host })).toBe(host);
  });

  it.each(["0.0.0.0", "::", "192.168.1.20", "10.0.2.2", "strata.example"])("refuses %s, naming the settings to change", (host) => {
    expect(() => plainHttpHost({ HTTP_HOST: host })).toThrow(new RegExp(`HTTP_HOST=${host.replace(/\./g, "\\.")} would serve plain HTTP .* HTTP_PORT=0 .* HTTP_ALLOW_NETWORK=1`));
  });

  it("serves a network address when HTTP_ALLOW_NETWORK=1 says so", () => {
    expect(plainHttpHost({ HTTP_HOST: "0.0.0.0", HTTP_ALLOW_NETWORK: "1" })).toBe("0.0.0.0");
  });

  it("refuses a value of HTTP_ALLOW_NETWORK it does not understand", () => {
    expect(() => plainHttpHost({ HTTP_HOST: "0.0.0.0", HTTP_ALLOW_NETWORK: "yes please" })).toThrow(/HTTP_ALLOW_NETWORK must be 1 or 0, got "yes please"/);
  });

  it("tells loopback from the rest", () => {
    expect(isLoopback("::ffff:127.0.0.1")).toBe(true);
    expect(isLoopback("128.0.0.1")).toBe(false);
    expect(isLoopback("localhost.example")).toBe(false);
  });
});

describe("scripts/web.ts", () => {
  it("refuses to start with plain HTTP on a network address, before touching the database", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "scripts/web.ts"], {
      env: { ...process.env, HTTP_HOST: "0.0.0.0", HTTP_PORT: "3080", HTTP_ALLOW_NETWORK: "", DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/failed to start: HTTP_HOST=0\.0\.0\.0 would serve plain HTTP/);
  }, 70_000);
});
