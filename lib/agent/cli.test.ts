import path from "node:path";
import { describe, expect, it } from "vitest";
import { OPTIONS, USAGE, parseCommandLine } from "./cli";

describe("parseCommandLine", () => {
  it("reads the flags of a first run", () => {
    const command = parseCommandLine(
      ["--server", "https://localhost:3443", "--root", "rel/root", "--ca", "ca.pem", "--token", "strata_reg_x", "--name", "kiosk-1", "--once"],
      {},
    );
    expect(command).toMatchObject({
      action: "once",
      intervalSeconds: 60,
      slots: "auto",
      bootTries: 2,
      reboot: true,
      options: { server: "https://localhost:3443", root: path.resolve("rel/root"), ca: path.resolve("ca.pem"), token: "strata_reg_x", name: "kiosk-1", registryCredentials: null },
    });
  });

  it("reads the flags of the disk mode service a device-agent layer installs", () => {
    const command = parseCommandLine(
      [
        "--server", "https://10.0.2.2:3443", "--root", "/var/lib/strata-agent", "--disk", "--token-file", "/etc/strata/registration-token", "--name", "kiosk-3f2a",
        "--interval", "300", "--boot-tries", "1", "--registry-mirror", "127.0.0.1:5055=http://10.0.2.2:5055", "--registry-mirror", "https://registry.example=https://10.0.2.3:5000/",
      ],
      {},
    );
    expect(command).toMatchObject({ action: "loop", slots: "disk", bootTries: 1, reboot: true, options: { tokenFile: "/etc/strata/registration-token" } });
    if (command.action !== "loop") throw new Error("expected loop");
    expect([...command.options.registryMirrors]).toEqual([
      ["127.0.0.1:5055", "http://10.0.2.2:5055"],
      ["registry.example", "https://10.0.2.3:5000"],
    ]);
    expect(parseCommandLine(["--root", "/r", "--dir-slots", "--no-reboot"], {})).toMatchObject({ slots: "dir", reboot: false });
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
    expect(() => parseCommandLine(["--root", "/r", "--disk", "--dir-slots"], {})).toThrow(/--disk and --dir-slots/);
    expect(() => parseCommandLine(["--root", "/r", "--boot-tries", "4"], {})).toThrow(/--boot-tries must be 1, 2 or 3/);
    expect(() => parseCommandLine(["--root", "/r", "--token", "t", "--token-file", "f"], {})).toThrow(/--token or --token-file, not both/);
    expect(() => parseCommandLine(["--root", "/r", "--registry-mirror", "10.0.2.2:5055"], {})).toThrow(/^--registry-mirror: a registry mirror is <registry host>=<URL>/);
    expect(() => parseCommandLine(["--root", "/r", "--registry-mirror", "r:5000=ftp://x"], {})).toThrow(/http:\/\/ or https:\/\/ URL/);
    expect(() => parseCommandLine(["--root", "/r", "--registry-mirror", "r:5000=http://x/v2/"], {})).toThrow(/only http\(s\):\/\/host\[:port\]/);
    expect(() => parseCommandLine(["--root", "/r", "--registry-mirror", "r:5000=http://x", "--registry-mirror", "r:5000=http://y"], {})).toThrow(/two mirrors/);
  });

  it("explains every flag in --help", () => {
    for (const flag of Object.keys(OPTIONS)) expect(USAGE).toContain(`--${flag}`);
  });

  it("answers --help and --version without needing --root", () => {
    expect(parseCommandLine(["--help"], {})).toEqual({ action: "help" });
    expect(parseCommandLine(["--version"], {})).toEqual({ action: "version" });
  });
});
