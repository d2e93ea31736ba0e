#!/usr/bin/env node
// Entry of `npm run up` and `npm test` on a fresh machine: installs what is missing (npm packages, Debian packages),
// then hands over to the TypeScript script. Plain JavaScript with no dependencies, because node_modules may not exist yet.
import { spawnSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const command = process.argv[2];
const say = (msg) => console.log(`[strata] ${msg}`);

/** A command on PATH, or (an absolute path) a file that exists. */
function has(bin) {
  if (bin.startsWith("/")) return fs.existsSync(bin);
  return spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;
}

function ensureNodeModules() {
  const lock = fs.readFileSync("package-lock.json");
  const want = createHash("sha256").update(lock).update(fs.readFileSync("package.json")).digest("hex");
  const stamp = path.join("node_modules", ".strata-installed");
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === want) return;
  say("installing npm packages (npm ci)…");
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
  fs.writeFileSync(stamp, want);
}

/** Debian packages that provide each missing binary. */
function ensureDebianPackages(needs, { optional }) {
  const missing = needs.filter(([bin]) => !has(bin));
  if (missing.length === 0) return true;
  const pkgs = [...new Set(missing.map(([, pkg]) => pkg))];
  const isRoot = process.getuid?.() === 0;
  const isDebian = fs.existsSync("/etc/debian_version") && has("apt-get");
  if (!isRoot || !isDebian) {
    const how = isDebian ? `sudo apt-get install -y ${pkgs.join(" ")}` : `install the equivalents of Debian's ${pkgs.join(", ")} with your package manager`;
    const msg = `missing ${missing.map(([bin]) => bin).join(", ")}: ${how}` + (isRoot ? "" : " (Strata installs them itself only when run as root on Debian)");
    if (optional) {
      say(`warning: ${msg}`);
      return false;
    }
    console.error(`[strata] ${msg}`);
    process.exit(1);
  }
  say(`installing Debian packages: ${pkgs.join(" ")} (once)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  const install = update.status === 0 && spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...pkgs], { stdio: "inherit", env });
  if (!install || install.status !== 0) {
    console.error(`[strata] apt-get install ${pkgs.join(" ")} failed; install them by hand and run again.`);
    if (!optional) process.exit(1);
    return false;
  }
  return true;
}

// What each command needs from Debian. The build stack is skipped when DOCKER_HOST / REGISTRY_URL point elsewhere.
// zstd compresses package artefacts (about four times gzip's speed); without it they are gzip.
const buildStack = [
  ...(process.env.DOCKER_HOST ? [] : [["dockerd", "docker.io"]]),
  ...(process.env.REGISTRY_URL ? [] : [["docker-registry", "docker-registry"]]),
  ["debootstrap", "debootstrap"],
  ["zstd", "zstd"],
];

ensureNodeModules();
if (command === "up") {
  ensureDebianPackages(buildStack, { optional: true });
} else if (command === "test") {
  // getfattr (attr): the tests also cover the opt-in overlay2 extraction, which lists opaque directories with it.
  // The boot test runs disk images in QEMU (UEFI from OVMF, BIOS from SeaBIOS) and logs in with Debian's ssh client.
  const bootTest = [
    ["qemu-system-x86_64", "qemu-system-x86"],
    ["/usr/share/OVMF/OVMF_CODE.fd", "ovmf"],
    ["ssh", "openssh-client"],
    ["ssh-keygen", "openssh-client"],
  ];
  ensureDebianPackages([["chromium", "chromium"], ["skopeo", "skopeo"], ["getfattr", "attr"], ...bootTest, ...buildStack], { optional: false });
} else {
  console.error("usage: bootstrap.mjs up|test");
  process.exit(2);
}

const script = command === "up" ? "scripts/up.ts" : "scripts/test.ts";
const child = spawn(path.join(root, "node_modules", ".bin", "tsx"), [script, ...process.argv.slice(3)], { stdio: "inherit" });
// The child handles Ctrl-C itself (it stops what it started); we only wait for it.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
