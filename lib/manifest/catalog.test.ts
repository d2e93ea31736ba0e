import { describe, expect, test } from "vitest";
import { NotFoundError, ValidationError } from "../errors";
import {
  CATALOG,
  buildCatalogLayer,
  debianPackagesLayer,
  hostnameTimezoneLayer,
  kernelCmdlineLayer,
  layerName,
  systemdUnitsLayer,
  usersLayer,
} from "./catalog";
import { loadBundledBaseManifests } from "./base";
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

/** Every generated layer must be a valid definition that fits on top of the bundled base. */
async function expectFitsOnBase(layer: PackageDefinition) {
  expect(PackageDefinitionSchema.parse(layer)).toEqual(layer);
  const [base] = await loadBundledBaseManifests();
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

describe("CATALOG", () => {
  test("lists every generator with a title and description", () => {
    expect(CATALOG.map((e) => e.id)).toEqual(["debian-packages", "users", "systemd-units", "kernel-cmdline", "hostname-timezone"]);
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
