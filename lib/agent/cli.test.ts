import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseCommandLine } from "./cli";

describe("parseCommandLine", () => {
  it("reads the flags of a first run", () => {
    const command = parseCommandLine(
      ["--server", "https://localhost:3443", "--root", "rel/root", "--ca", "ca.pem", "--token", "strata_reg_x", "--name", "kiosk-1", "--once"],
      {},
    );
    expect(command).toMatchObject({
      action: "once",
      intervalSeconds: 60,
      options: { server: "https://localhost:3443", root: path.resolve("rel/root"), ca: path.resolve("ca.pem"), token: "strata_reg_x", name: "kiosk-1", registryCredentials: null },
    });
  });

  it("polls on an interval unless --once, and takes registry credentials from the environment", () => {
    const command = parseCommandLine(["--root", "/r", "--interval", "5"], { STRATA_REGISTRY_USERNAME: "u", STRATA_REGISTRY_PASSWORD: "p" });
    expect(command).toMatchObject({ action: "loop", intervalSeconds: 5, options: { registryCredentials: { username: "u", password: "p" } } });
  });

  it("refuses what it cannot run with", () => {
    expect(() => parseCommandLine([], {})).toThrow(/--root is required/);
    expect(() => parseCommandLine(["--root", "/r", "--interval", "0"], {})).toThrow(/--interval/);
    expect(() => parseCommandLine(["--root", "/r", "--server", "ftp://x"], {})).toThrow(/https:\/\//);
    expect(() => parseCommandLine(["--root", "/r", "--registry-username", "u"], {})).toThrow(/both a registry username and password/);
    expect(() => parseCommandLine(["--root", "/r", "--bogus"], {})).toThrow(/bogus/);
  });

  it("answers --help and --version without needing --root", () => {
    expect(parseCommandLine(["--help"], {})).toEqual({ action: "help" });
    expect(parseCommandLine(["--version"], {})).toEqual({ action: "version" });
  });
});
