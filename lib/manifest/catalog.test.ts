import { describe, expect, test } from "vitest";
import { NotFoundError, ValidationError } from "../errors";
import { parseCommandLine } from "../agent/cli";
import {
  CATALOG,
  buildCatalogLayer,
  debianPackagesLayer,
  deviceAgentLayer,
  hostnameTimezoneLayer,
  kernelCmdlineLayer,
  layerName,
  systemdUnitsLayer,
  usersLayer,
} from "./catalog";
import { latestBundledBaseManifest, loadBundledBaseManifests } from "./base";
import { checkOrder } from "./order";
import { PackageDefinitionSchema, type PackageDefinition } from "./schema";

// Real public keys (made with ssh-keygen for this test; the private halves were thrown away).
const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICoVriWDV0LciHCPjNVuAdDU8yTAZ2fjt0zE2xXvJcSc alice@laptop";
const ECDSA =
  "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBI9IZx7aB0rdZiwm4qBUwHme5YK3FkY53a/+s5MZ1e69zueGcHMGpUKG/il1nyudnl2gl63CJ+m9MubD48bOv4I= root@vm";

/** The ValidationError message of a throwing call. */
function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
  throw new Error("expected a ValidationError");
}

// A throwaway self-signed CA (openssl req -x509, EC P-256); its key was never kept.
const CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIUcHFhUa3EQaqc465JrLNQQAOwfEAwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOU3RyYXRhIHRlc3QgQ0EwIBcNMjYxMjAyMDYwNjU2WhgPMjEy
NjExMDgwNjA2NTZaMBkxFzAVBgNVBAMMDlN0cmF0YSB0ZXN0IENBMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEZtKAVgBwzmR7zEP6EBS3rJnVwOmksuRpDSscbLJy
qhhB6eP2CsKqpZ+gMQ0kQHIYYP29N+jbH6QCHLhSqoKXdaNTMFEwHQYDVR0OBBYE
FDRUtv9UD4LKJJIVVlHDwxEXnZt1MB8GA1UdIwQYMBaAFDRUtv9UD4LKJJIVVlHD
wxEXnZt1MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAL5+L5sC
5BYHNT9umHvbhiAAkO8PKDVpTtAikg582lilAiAsd3eVPSRKK3uotAj1RA9TlwtO
iUzgIR+iCnIxI2IPYQ==
-----END CERTIFICATE-----`;

/** Every generated layer must be a valid definition that fits on top of the latest bundled base. */
async function expectFitsOnBase(layer: PackageDefinition) {
  expect(PackageDefinitionSchema.parse(layer)).toEqual(layer);
  const base = await latestBundledBaseManifest();
  expect(checkOrder([...base.packages, layer])).toEqual([]);
}

describe("debian packages", () => {
  test("installs the named packages non-interactively and cleans up", async () => {
    const layer = debianPackagesLayer({ packages: ["htop", "nginx-light", "libstdc++6", "htop"] });
    expect(layer).toMatchObject({ category: "layer", name: "apt-htop-nginx-light-libstdc-6", version: "1", requires: ["system/base"] });
    expect(layer.steps).toEqual([
      "apt-get update",
      "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends htop nginx-light libstdc++6",
      "apt-get clean",
      "rm -rf /var/lib/apt/lists/*",
    ]);
    await expectFitsOnBase(layer);
  });

  test("a package name with shell characters is refused", () => {
    expect(invalid(() => debianPackagesLayer({ packages: ["htop; rm -rf /"] }))).toMatch(/^packages\[0\]: a Debian package name/);
  });

  test("an upper-case or one-letter package name is refused", () => {
    expect(invalid(() => debianPackagesLayer({ packages: ["Htop"] }))).toMatch(/packages\[0\]/);
    expect(invalid(() => debianPackagesLayer({ packages: ["x"] }))).toMatch(/packages\[0\]/);
  });

  test("an empty list is refused", () => {
    expect(invalid(() => debianPackagesLayer({ packages: [] }))).toBe("packages: name at least one package");
  });
});

describe("users", () => {
  test("creates users, installs keys as 0600 overlay files and hands them over", async () => {
    const layer = usersLayer({ users: [{ username: "alice", authorizedKeys: [ED25519, ECDSA] }, { username: "build_bot" }] });
    expect(layer.name).toBe("users-alice-build-bot");
    expect(layer.requires).toEqual(["system/base", "system/openssh"]);
    expect(layer.files).toEqual([{ path: "/home/alice/.ssh/authorized_keys", mode: "0600", content: `${ED25519}\n${ECDSA}\n` }]);
    expect(layer.steps).toContain("id -u alice >/dev/null 2>&1 || useradd -m -s /bin/bash -p '*' alice");
    expect(layer.steps).toContain("chown -R alice:alice /home/alice");
    expect(layer.steps).not.toContain("chmod 0700 /home/build_bot/.ssh");
    await expectFitsOnBase(layer);
  });

  test("users without keys do not need ssh", () => {
    expect(usersLayer({ users: [{ username: "kiosk" }] }).requires).toEqual(["system/base"]);
  });

  test("a bad username is refused with its path", () => {
    expect(invalid(() => usersLayer({ users: [{ username: "Alice Smith" }] }))).toMatch(/^users\[0\]\.username: a username starts with/);
  });

  test("a reserved username is refused", () => {
    expect(invalid(() => usersLayer({ users: [{ username: "root" }] }))).toBe("users[0].username: this username is reserved by the system");
  });

  test("something that is not an ssh public key is refused", () => {
    expect(invalid(() => usersLayer({ users: [{ username: "alice", authorizedKeys: ["-----BEGIN OPENSSH PRIVATE KEY-----"] }] }))).toMatch(
      /^users\[0\]\.authorizedKeys\[0\]: not an ssh public key/,
    );
  });

  test("a key whose blob does not match its type is refused", () => {
    const mismatched = ED25519.replace("ssh-ed25519", "ssh-rsa");
    expect(invalid(() => usersLayer({ users: [{ username: "alice", authorizedKeys: [mismatched] }] }))).toMatch(/not an ssh public key/);
  });

  test("a key with an embedded newline is refused", () => {
    expect(invalid(() => usersLayer({ users: [{ username: "alice", authorizedKeys: [`${ED25519}\ncommand="sh" ${ECDSA}`] }] }))).toMatch(
      /single line/,
    );
  });

  test("the same user twice is refused", () => {
    expect(invalid(() => usersLayer({ users: [{ username: "alice" }, { username: "alice" }] }))).toBe("users[1].username: user alice is listed twice");
  });
});

describe("systemd units", () => {
  test("enables the units with quoted names", async () => {
    const layer = systemdUnitsLayer({ units: ["nginx.service", "fstrim.timer", "getty@tty2.service"] });
    expect(layer.name).toBe("units-nginx-fstrim-getty-tty2");
    expect(layer.requires).toEqual(["system/systemd"]);
    expect(layer.steps).toEqual(["systemctl enable 'nginx.service' 'fstrim.timer' 'getty@tty2.service'"]);
    await expectFitsOnBase(layer);
  });

  test("a name without a unit type is refused", () => {
    expect(invalid(() => systemdUnitsLayer({ units: ["nginx"] }))).toMatch(/^units\[0\]: not a unit name/);
  });

  test("shell characters in a unit name are refused", () => {
    expect(invalid(() => systemdUnitsLayer({ units: ["a.service; reboot"] }))).toMatch(/^units\[0\]: not a unit name/);
  });

  test("a template without an instance is refused", () => {
    expect(invalid(() => systemdUnitsLayer({ units: ["getty@.service"] }))).toMatch(/needs an instance/);
  });
});

describe("kernel command line", () => {
  test("writes /etc/kernel/cmdline and a grub.d snippet that appends", async () => {
    const layer = kernelCmdlineLayer({ cmdline: "  console=ttyS1,115200n8   quiet " });
    expect(layer.name).toBe("kernel-cmdline");
    expect(layer.files.map((f) => [f.path, f.content])).toEqual([
      ["/etc/kernel/cmdline", "console=ttyS1,115200n8 quiet\n"],
      ["/etc/default/grub.d/strata-cmdline.cfg", '# Written by the Strata "kernel command line" layer.\nGRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX console=ttyS1,115200n8 quiet"\n'],
    ]);
    await expectFitsOnBase(layer);
  });

  test("a newline (a second shell line in the grub file) is refused", () => {
    expect(invalid(() => kernelCmdlineLayer({ cmdline: "quiet\nGRUB_TIMEOUT=0" }))).toBe("cmdline: the kernel command line must be a single line");
  });

  test("a quote (breaking out of the grub string) is refused", () => {
    expect(invalid(() => kernelCmdlineLayer({ cmdline: 'quiet" ; reboot ; "' }))).toMatch(/^cmdline: quotes are not allowed/);
  });

  test("shell expansion characters are refused", () => {
    expect(invalid(() => kernelCmdlineLayer({ cmdline: "init=$(reboot)" }))).toMatch(/^cmdline: kernel arguments may only use/);
  });
});

describe("hostname and timezone", () => {
  test("ships the hostname with a boot unit (Docker bind-mounts /etc/hostname) and links /etc/localtime", async () => {
    const layer = hostnameTimezoneLayer({ hostname: "Kiosk-01.example.com", timezone: "America/Argentina/Buenos_Aires" });
    expect(layer.files.map((f) => f.path)).toEqual(["/usr/lib/strata/hostname", "/etc/systemd/system/strata-hostname.service", "/etc/timezone"]);
    expect(layer.files[0].content).toBe("kiosk-01.example.com\n");
    expect(layer.files[1].content).toContain("hostname -F /etc/hostname");
    expect(layer.files[2].content).toBe("America/Argentina/Buenos_Aires\n");
    expect(layer.steps).toContain("ln -sf /usr/share/zoneinfo/America/Argentina/Buenos_Aires /etc/localtime");
    expect(layer.steps.at(-1)).toBe("systemctl enable strata-hostname.service");
    await expectFitsOnBase(layer);
  });

  test("timezone defaults to UTC", () => {
    expect(hostnameTimezoneLayer({ hostname: "box" }).files[2].content).toBe("UTC\n");
  });

  test("a hostname label starting with a hyphen is refused", () => {
    expect(invalid(() => hostnameTimezoneLayer({ hostname: "-box" }))).toMatch(/^hostname: a hostname is dot-separated labels/);
  });

  test("a hostname label over 63 characters is refused", () => {
    expect(invalid(() => hostnameTimezoneLayer({ hostname: "a".repeat(64) }))).toMatch(/^hostname:/);
  });

  test("a timezone path escaping zoneinfo is refused", () => {
    expect(invalid(() => hostnameTimezoneLayer({ hostname: "box", timezone: "Europe/../../etc/shadow" }))).toMatch(/^timezone: a timezone is UTC or Area\/City/);
  });

  test("a timezone outside the IANA areas is refused", () => {
    expect(invalid(() => hostnameTimezoneLayer({ hostname: "box", timezone: "Mars/Olympus" }))).toMatch(/^timezone:/);
  });
});

describe("strata device agent", () => {
  const AGENT = "#!/usr/bin/env node\n// strata-agent (test stand-in)\n";
  const input = {
    portalUrl: "https://10.0.2.2:3443/",
    caPem: `${CA_PEM}\n`,
    registrationToken: "strata_reg_AbC-123_x",
    registryMirror: "127.0.0.1:5055=http://10.0.2.2:5055",
    intervalSeconds: 10,
    bootTries: 1,
  };
  const file = (layer: PackageDefinition, path: string) => layer.files.find((f) => f.path === path);

  /** The agent's arguments as systemd starts it: the unit's ExecStart with the environment file's values. */
  function agentArguments(layer: PackageDefinition): string[] {
    const env = new Map(file(layer, "/etc/strata/agent.env")!.content.split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const));
    const execStart = /^ExecStart=(.*)$/m.exec(file(layer, "/etc/systemd/system/strata-agent.service")!.content)![1];
    const words = execStart.split(" ").flatMap((word) => {
      if (/^\$\{\w+\}$/.test(word)) return [env.get(word.slice(2, -1))!]; // ${VAR}: one argument
      if (/^\$\w+$/.test(word)) return (env.get(word.slice(1)) ?? "").split(" ").filter(Boolean); // $VAR: split at spaces
      return [word.replace("%H", "kiosk").replace("%m", "0123456789abcdef0123456789abcdef")];
    });
    expect(words.slice(0, 2)).toEqual(["/usr/bin/node", "/usr/lib/strata/agent.mjs"]);
    return words.slice(2);
  }

  test("ships the agent, its settings, the CA and the token, and a service that runs it in disk mode", async () => {
    const layer = deviceAgentLayer(input, { agentBundle: AGENT });
    expect(layer).toMatchObject({ category: "layer", name: "device-agent", requires: ["system/systemd", "system/boot"] });
    expect(layer.files.map((f) => [f.path, f.mode])).toEqual([
      ["/usr/lib/strata/agent.mjs", "0755"],
      ["/etc/strata/agent.env", "0644"],
      ["/etc/strata/portal-ca.pem", "0644"],
      ["/etc/strata/registration-token", "0600"],
      ["/etc/systemd/system/strata-agent.service", "0644"],
    ]);
    expect(file(layer, "/usr/lib/strata/agent.mjs")!.content).toBe(AGENT);
    expect(file(layer, "/etc/strata/portal-ca.pem")!.content).toBe(`${CA_PEM}\n`);
    expect(file(layer, "/etc/strata/registration-token")!.content).toBe("strata_reg_AbC-123_x\n");
    const unit = file(layer, "/etc/systemd/system/strata-agent.service")!.content;
    expect(unit).toContain("After=network-online.target strata-boot-good.service\n");
    expect(unit).toContain("Wants=network-online.target\n");
    expect(unit).toContain("Restart=always\n");
    expect(unit).toContain("WantedBy=multi-user.target\n");
    expect(layer.steps).toEqual([
      "apt-get update",
      "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs e2fsprogs",
      "apt-get clean",
      "rm -rf /var/lib/apt/lists/*",
      "node /usr/lib/strata/agent.mjs --version",
      "systemctl enable strata-agent.service",
    ]);
    await expectFitsOnBase(layer);
    // Base manifest 2 has no boot counting to rely on.
    const v2 = (await loadBundledBaseManifests()).find((m) => m.version === "2")!;
    expect(checkOrder([...v2.packages, layer]).map((e) => e.code)).toEqual(["unknown_requires"]);
  });

  test("the service's command line is one the agent takes", () => {
    const command = parseCommandLine(agentArguments(deviceAgentLayer(input, { agentBundle: AGENT })), {});
    expect(command).toMatchObject({
      action: "loop",
      intervalSeconds: 10,
      slots: "disk",
      bootTries: 1,
      options: { server: "https://10.0.2.2:3443", root: "/var/lib/strata-agent", ca: "/etc/strata/portal-ca.pem", tokenFile: "/etc/strata/registration-token", name: "kiosk-0123456789abcdef0123456789abcdef" },
    });
    if (command.action !== "loop") throw new Error("expected loop");
    expect([...command.options.registryMirrors]).toEqual([["127.0.0.1:5055", "http://10.0.2.2:5055"]]);
  });

  test("the CA and the mirror are optional; the interval and boot tries have defaults", () => {
    const layer = deviceAgentLayer({ portalUrl: "https://portal.example", registrationToken: "strata_reg_x" }, { agentBundle: AGENT });
    expect(file(layer, "/etc/strata/portal-ca.pem")).toBeUndefined();
    expect(file(layer, "/etc/strata/agent.env")!.content).toBe(
      '# Written by the Strata "device agent" layer; read by strata-agent.service. Edits here persist on the device.\n' +
        "STRATA_PORTAL_URL=https://portal.example\nSTRATA_AGENT_INTERVAL=300\nSTRATA_BOOT_TRIES=2\nSTRATA_AGENT_OPTIONS=\n",
    );
    expect(parseCommandLine(agentArguments(layer), {})).toMatchObject({ intervalSeconds: 300, bootTries: 2, options: { ca: undefined } });
  });

  test("refuses what would not work on a device", () => {
    const bad = (change: Record<string, unknown>) => invalid(() => deviceAgentLayer({ ...input, ...change }, { agentBundle: AGENT }));
    expect(bad({ portalUrl: "http://portal.example" })).toMatch(/^portalUrl: the portal URL is https:\/\/host/);
    expect(bad({ portalUrl: "https://portal.example/?a=$(reboot)" })).toMatch(/^portalUrl:/);
    expect(bad({ registrationToken: "strata_dev_x" })).toMatch(/^registrationToken: a registration token starts with strata_reg_/);
    expect(bad({ caPem: "not a certificate" })).toMatch(/^caPem: paste the CA certificate in PEM form/);
    expect(bad({ caPem: `${CA_PEM}\n-----BEGIN PRIVATE KEY-----\nMIG…\n-----END PRIVATE KEY-----\n` })).toMatch(/^caPem: only certificates/);
    expect(bad({ caPem: CA_PEM.replace("MIIBiTCC", "MIIBiTDD") })).toMatch(/^caPem: certificate 1 does not parse/);
    expect(bad({ registryMirror: "127.0.0.1:5055" })).toMatch(/^registryMirror: a registry mirror is <registry host>=<URL>/);
    expect(bad({ intervalSeconds: 5 })).toMatch(/^intervalSeconds: poll at most every 10 seconds/);
    expect(bad({ bootTries: 4 })).toMatch(/^bootTries: a new image gets 1 to 3 boots/);
    expect(bad({ extra: true })).toMatch(/Unrecognized key/);
  });

  test("cannot be built without the agent bundle", () => {
    expect(() => buildCatalogLayer("device-agent", input)).toThrow(/ships the agent bundle: pass \{ agentBundle \}/);
    expect(buildCatalogLayer("device-agent", input, { agentBundle: AGENT }).files[0].content).toBe(AGENT);
  });
});

describe("CATALOG", () => {
  test("lists every generator with a title and description", () => {
    expect(CATALOG.map((e) => e.id)).toEqual(["debian-packages", "users", "systemd-units", "kernel-cmdline", "hostname-timezone", "device-agent"]);
    for (const entry of CATALOG) {
      expect(entry.title.length).toBeGreaterThan(3);
      expect(entry.description.length).toBeGreaterThan(10);
    }
  });

  test("buildCatalogLayer validates untrusted input", () => {
    expect(buildCatalogLayer("systemd-units", { units: ["nginx.service"] }).name).toBe("units-nginx");
    expect(() => buildCatalogLayer("systemd-units", { units: "nginx.service" })).toThrow(ValidationError);
    expect(() => buildCatalogLayer("systemd-units", { units: ["a.service"], extra: 1 })).toThrow(/Unrecognized key/);
    expect(() => buildCatalogLayer("nope", {})).toThrow(NotFoundError);
  });
});

test("layerName keeps names valid and short", () => {
  expect(layerName("apt", ["g++", "vim"])).toBe("apt-g-vim");
  const long = layerName("apt", Array.from({ length: 30 }, (_, i) => `package${i}`));
  expect(long.length).toBeLessThanOrEqual(64);
  expect(long).toMatch(/^apt-package0-.*-[0-9a-f]{8}$/);
  expect(long).not.toBe(layerName("apt", Array.from({ length: 31 }, (_, i) => `package${i}`)));
});
