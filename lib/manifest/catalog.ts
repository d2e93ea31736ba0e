// Ready-made layers: a form's input (validated here) becomes a package definition a customer can add without writing shell.
import { createHash, X509Certificate } from "node:crypto";
import { z } from "zod";
import { parseRegistryMirror } from "../agent/mirror";
import { parseInput } from "../validation";
import { NotFoundError } from "../errors";
import { PackageDefinitionSchema, type PackageDefinition, type PackageDefinitionInput } from "./schema";

const LAYER_CATEGORY = "layer";

// ---------------------------------------------------------------------------------------------------------------
// (a) Extra Debian packages

/** Debian policy §5.6.1: lower case letters, digits, + - . ; at least two characters, starting alphanumeric. */
export const DebianPackageNameSchema = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9+.-]+$/, "a Debian package name has at least 2 characters: a-z, 0-9, '+', '-' and '.', starting with a letter or digit")
  .max(100, "a Debian package name is at most 100 characters");

export const DebianPackagesInputSchema = z
  .object({ packages: z.array(DebianPackageNameSchema).min(1, "name at least one package").max(200) })
  .strict();

export function debianPackagesLayer(input: z.input<typeof DebianPackagesInputSchema>): PackageDefinition {
  const { packages } = parseInput(DebianPackagesInputSchema, input);
  const names = [...new Set(packages)];
  return definition({
    name: layerName("apt", names),
    description: `Extra Debian packages: ${names.join(", ")}`,
    requires: ["system/base"],
    steps: [
      "apt-get update",
      `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${names.join(" ")}`,
      "apt-get clean",
      "rm -rf /var/lib/apt/lists/*",
    ],
    excludes: ["^/var/cache/apt/", "^/var/lib/apt/lists/", "^/var/log/"],
  });
}

// ---------------------------------------------------------------------------------------------------------------
// (b) Users with SSH authorized keys

/** Accounts that exist in the base image or are created by its packages; useradd would fail or hijack them. */
const RESERVED_USERS = new Set([
  "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data",
  "backup", "list", "irc", "gnats", "nobody", "_apt", "messagebus", "sshd", "systemd-network", "systemd-resolve",
  "systemd-timesync", "systemd-journal", "systemd-coredump", "polkitd", "strata",
]);

export const UsernameSchema = z
  .string()
  .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "a username starts with a-z or '_', then up to 31 of a-z, 0-9, '_' and '-'")
  .refine((u) => !RESERVED_USERS.has(u) && !u.startsWith("systemd-"), "this username is reserved by the system");

const SSH_KEY_TYPES = [
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
];

/** `type base64 [comment]` on one line, and the base64 blob must itself start with the same key type. */
export const SshPublicKeySchema = z
  .string()
  .trim()
  .max(16 * 1024, "an ssh public key is at most 16 KiB")
  .refine((k) => !/[\r\n]/.test(k), { message: "an ssh public key is a single line", abort: true })
  .refine(isSshPublicKey, `not an ssh public key; expected "<type> <base64> [comment]" with type one of ${SSH_KEY_TYPES.join(", ")}`);

function isSshPublicKey(line: string): boolean {
  const [type, blob] = line.split(/ +/);
  if (!SSH_KEY_TYPES.includes(type) || !blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return false;
  const raw = Buffer.from(blob, "base64");
  if (raw.length < 4) return false;
  const length = raw.readUInt32BE(0);
  return length === type.length && raw.subarray(4, 4 + length).toString("latin1") === type;
}

export const UsersInputSchema = z
  .object({
    users: z
      .array(z.object({ username: UsernameSchema, authorizedKeys: z.array(SshPublicKeySchema).max(50).default([]) }).strict())
      .min(1, "add at least one user")
      .max(50),
  })
  .strict()
  .superRefine(({ users }, ctx) => {
    const seen = new Set<string>();
    users.forEach((u, i) => {
      if (seen.has(u.username)) ctx.addIssue({ code: "custom", path: ["users", i, "username"], message: `user ${u.username} is listed twice` });
      seen.add(u.username);
    });
  });

export function usersLayer(input: z.input<typeof UsersInputSchema>): PackageDefinition {
  const { users } = parseInput(UsersInputSchema, input);
  const withKeys = users.filter((u) => u.authorizedKeys.length > 0);
  return definition({
    name: layerName("users", users.map((u) => u.username)),
    description: `Users: ${users.map((u) => u.username + (u.authorizedKeys.length ? ` (${u.authorizedKeys.length} ssh key${u.authorizedKeys.length > 1 ? "s" : ""})` : "")).join(", ")}`,
    requires: withKeys.length ? ["system/base", "system/openssh"] : ["system/base"],
    // Overlay files are written before the steps, as root: the steps create the owner and then hand the files over.
    files: withKeys.map((u) => ({ path: `/home/${u.username}/.ssh/authorized_keys`, mode: "0600", content: u.authorizedKeys.join("\n") + "\n" })),
    steps: users.flatMap((u) => {
      const home = `/home/${u.username}`;
      return [
        // -p '*': no password can match, yet the account is not "locked", so key logins work with and without PAM.
        `id -u ${u.username} >/dev/null 2>&1 || useradd -m -s /bin/bash -p '*' ${u.username}`,
        // useradd -m skips /etc/skel when the overlay already made the home directory.
        `cp -a /etc/skel/. ${home}/`,
        ...(u.authorizedKeys.length ? [`chmod 0700 ${home}/.ssh`, `chmod 0600 ${home}/.ssh/authorized_keys`] : []),
        `chown -R ${u.username}:${u.username} ${home}`,
      ];
    }),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// (c) Enabled systemd units

const UNIT_TYPES = ["service", "socket", "timer", "target", "path", "mount", "automount", "swap", "slice"];

/** systemd.unit(5): name chars a-zA-Z0-9:-_.\ , optional @instance, a known type suffix, at most 255 characters. */
export const SystemdUnitNameSchema = z
  .string()
  .trim()
  .max(255, "a unit name is at most 255 characters")
  .refine((u) => !/@\./.test(u), { message: "a template unit needs an instance to be enabled, e.g. getty@tty2.service", abort: true })
  .refine(
    (u) => new RegExp(`^[A-Za-z0-9:_.\\\\-]+(@[A-Za-z0-9:_.\\\\-]+)?\\.(${UNIT_TYPES.join("|")})$`).test(u),
    `not a unit name; expected e.g. "nginx.service" (types: ${UNIT_TYPES.join(", ")})`,
  );

export const SystemdUnitsInputSchema = z
  .object({ units: z.array(SystemdUnitNameSchema).min(1, "name at least one unit").max(100) })
  .strict();

export function systemdUnitsLayer(input: z.input<typeof SystemdUnitsInputSchema>): PackageDefinition {
  const units = [...new Set(parseInput(SystemdUnitsInputSchema, input).units)];
  return definition({
    name: layerName("units", units.map((u) => u.replace(/\.[a-z]+$/, ""))),
    description: `Enabled systemd units: ${units.join(", ")}`,
    requires: ["system/systemd"],
    // systemctl enable works offline (it only writes symlinks), so it needs no running systemd in the build container.
    steps: [`systemctl enable ${units.map(shellQuote).join(" ")}`],
  });
}

// ---------------------------------------------------------------------------------------------------------------
// (d) Kernel command line

export const KernelCmdlineInputSchema = z
  .object({
    cmdline: z
      .string()
      .trim()
      .min(1, "enter at least one kernel argument")
      .max(1024, "the kernel command line is at most 1024 characters")
      .refine((c) => !/[\r\n]/.test(c), { message: "the kernel command line must be a single line", abort: true })
      .refine((c) => !/["'`]/.test(c), {
        message: "quotes are not allowed in kernel arguments (the line is written into a shell-sourced grub file)",
        abort: true,
      })
      .refine((c) => /^[A-Za-z0-9_.,:/=+@%~ -]*$/.test(c), "kernel arguments may only use letters, digits, spaces and _ . , : / = + @ % ~ -"),
  })
  .strict();

/**
 * Fixed name: there is one kernel command line, so a second such layer should be a duplicate-package error,
 * not a silent override of the same files.
 */
export function kernelCmdlineLayer(input: z.input<typeof KernelCmdlineInputSchema>): PackageDefinition {
  const args = parseInput(KernelCmdlineInputSchema, input).cmdline.split(/ +/).join(" ");
  return definition({
    name: "kernel-cmdline",
    description: `Extra kernel arguments: ${args}`,
    requires: ["system/kernel", "system/grub"],
    files: [
      // Read by kernel-install and UKI tooling.
      { path: "/etc/kernel/cmdline", mode: "0644", content: `${args}\n` },
      // grub-mkconfig sources /etc/default/grub.d/*.cfg after /etc/default/grub; append, keep the base arguments.
      {
        path: "/etc/default/grub.d/strata-cmdline.cfg",
        mode: "0644",
        content: `# Written by the Strata "kernel command line" layer.\nGRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX ${args}"\n`,
      },
    ],
  });
}

// ---------------------------------------------------------------------------------------------------------------
// (e) Hostname and timezone

/** RFC 1123: dot-separated labels of 1–63 letters, digits and inner hyphens; at most 253 characters. */
export const HostnameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(253, "a hostname is at most 253 characters")
  .refine(
    (h) => h.split(".").every((label) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(label)),
    "a hostname is dot-separated labels of 1-63 letters, digits and hyphens (not at the start or end of a label)",
  );

const TZ_AREAS = ["Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific", "Etc"];

/** IANA zone like Area/City (or Area/Region/City), or UTC. Checked against the real zoneinfo at build time. */
export const TimezoneSchema = z
  .string()
  .trim()
  .max(64)
  .refine(
    (tz) => tz === "UTC" || new RegExp(`^(${TZ_AREAS.join("|")})(/[A-Za-z0-9_+-]+){1,2}$`).test(tz),
    `a timezone is UTC or Area/City, e.g. Europe/Berlin (areas: ${TZ_AREAS.join(", ")})`,
  );

export const HostnameTimezoneInputSchema = z.object({ hostname: HostnameSchema, timezone: TimezoneSchema.default("UTC") }).strict();

/**
 * Fixed name for the same reason as kernel-cmdline: a machine has one hostname.
 * Docker bind-mounts /etc/hostname into every build container, so nothing written there (overlay file or step)
 * reaches the committed layer. The hostname therefore ships as /usr/lib/strata/hostname, and an early-boot unit
 * copies it to /etc/hostname and applies it before the network comes up.
 */
const HOSTNAME_FILE = "/usr/lib/strata/hostname";
const HOSTNAME_UNIT = `[Unit]
Description=Apply the hostname of this Strata flavour
DefaultDependencies=no
After=local-fs.target
Before=sysinit.target network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'cp ${HOSTNAME_FILE} /etc/hostname && hostname -F /etc/hostname'

[Install]
WantedBy=sysinit.target
`;

export function hostnameTimezoneLayer(input: z.input<typeof HostnameTimezoneInputSchema>): PackageDefinition {
  const { hostname, timezone } = parseInput(HostnameTimezoneInputSchema, input);
  const zone = `/usr/share/zoneinfo/${timezone}`;
  return definition({
    name: "hostname",
    description: `Hostname ${hostname}, timezone ${timezone}`,
    requires: ["system/base", "system/systemd"],
    files: [
      { path: HOSTNAME_FILE, mode: "0644", content: `${hostname}\n` },
      { path: "/etc/systemd/system/strata-hostname.service", mode: "0644", content: HOSTNAME_UNIT },
      { path: "/etc/timezone", mode: "0644", content: `${timezone}\n` },
    ],
    steps: [
      `test -f ${zone} || { echo "unknown timezone ${timezone}: ${zone} does not exist" >&2; exit 1; }`,
      `ln -sf ${zone} /etc/localtime`,
      "systemctl enable strata-hostname.service",
    ],
  });
}

// ---------------------------------------------------------------------------------------------------------------
// (f) Strata device agent

/**
 * The portal as devices reach it. Written into a systemd environment file and used as one ExecStart argument, so
 * only the characters a normalised https URL without credentials, query or fragment has are let through.
 */
function portalUrlOf(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" || url.username || url.password || url.search || url.hash) return null;
  const text = url.href.replace(/\/+$/, "");
  return /^https:\/\/[A-Za-z0-9.:[\]\/_~%-]+$/.test(text) ? text : null;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g;

/** One or more PEM certificates and nothing else (a private key pasted along would end up in the image). */
export const CertificatePemSchema = z
  .string()
  .trim()
  .max(64 * 1024, "the CA certificate is at most 64 KiB")
  .superRefine((pem, ctx) => {
    const blocks = pem.match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) {
      ctx.addIssue({ code: "custom", message: "paste the CA certificate in PEM form: -----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----" });
    } else if (pem.replace(PEM_CERTIFICATE, "").trim() !== "") {
      ctx.addIssue({ code: "custom", message: "only certificates may be pasted here: the text holds something else too (a private key?)" });
    } else {
      blocks.forEach((block, i) => {
        try {
          new X509Certificate(block);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: `certificate ${i + 1} does not parse: ${(err as Error).message}` });
        }
      });
    }
  });

export const DeviceAgentInputSchema = z
  .object({
    portalUrl: z
      .string()
      .trim()
      .max(500, "the portal URL is at most 500 characters")
      .refine((u) => portalUrlOf(u) !== null, "the portal URL is https://host[:port] as devices reach the portal, e.g. https://portal.example:3443")
      .transform((u) => portalUrlOf(u)!),
    caPem: CertificatePemSchema.optional(),
    // lib/devices/registration-tokens.ts makes them: strata_reg_ and base64url.
    registrationToken: z
      .string()
      .trim()
      .max(200, "a registration token is at most 200 characters")
      .regex(/^strata_reg_[A-Za-z0-9_-]+$/, "a registration token starts with strata_reg_; make one on the channel's page"),
    registryMirror: z
      .string()
      .trim()
      .max(500, "the registry mirror is at most 500 characters")
      .superRefine((value, ctx) => {
        try {
          parseRegistryMirror(value);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: (err as Error).message });
        }
      })
      .optional(),
    intervalSeconds: z.number().int("the poll interval is a whole number of seconds").min(10, "poll at most every 10 seconds").max(86400, "poll at least once a day (86400 seconds)").default(300),
    bootTries: z.number().int("boot tries is a whole number").min(1, "a new image gets 1 to 3 boots").max(3, "a new image gets 1 to 3 boots").default(2),
  })
  .strict();

const AGENT_DIR = "/etc/strata";
const AGENT_CA = `${AGENT_DIR}/portal-ca.pem`;
const AGENT_TOKEN = `${AGENT_DIR}/registration-token`;

// systemd expands ${VAR} from the environment file as one argument, and $VAR as zero or more (split at spaces):
// the optional flags live in STRATA_AGENT_OPTIONS.
const AGENT_UNIT = `# Written by the Strata "device agent" layer: keeps this device on the image its channel names.
[Unit]
Description=Strata device agent
ConditionKernelCommandLine=strata.slot
Wants=network-online.target
After=network-online.target strata-boot-good.service
# multi-user.target wants this unit and strata-boot-good.service runs after multi-user.target: without this the
# target would wait for the agent (its default ordering) while the agent waits for boot-good, a cycle.
After=multi-user.target

[Service]
EnvironmentFile=${AGENT_DIR}/agent.env
ExecStart=/usr/bin/node /usr/lib/strata/agent.mjs --server \${STRATA_PORTAL_URL} --root /var/lib/strata-agent --disk --token-file ${AGENT_TOKEN} --name %H-%m --interval \${STRATA_AGENT_INTERVAL} --boot-tries \${STRATA_BOOT_TRIES} $STRATA_AGENT_OPTIONS
Restart=always
RestartSec=30

[Install]
WantedBy=multi-user.target
`;

/** What buildCatalogLayer needs besides the form for some entries. */
export interface CatalogContext {
  /** The device agent as one file (lib/agent/bundle.ts, agentBundleSource): the device-agent layer ships it. */
  agentBundle?: string;
}

/**
 * Fixed name: one agent per device. The agent runs in disk mode (partitions strata-a/strata-b, grub's boot
 * counting from base manifest 3's system/boot), registers at first start with the token and the name
 * <hostname>-<machine id>, and reports to the portal.
 */
export function deviceAgentLayer(input: z.input<typeof DeviceAgentInputSchema>, context: CatalogContext = {}): PackageDefinition {
  const data = parseInput(DeviceAgentInputSchema, input);
  if (!context.agentBundle) {
    throw new Error('the "device-agent" catalog layer ships the agent bundle: pass { agentBundle } (agentBundleSource() of lib/agent/bundle.ts) to buildCatalogLayer');
  }
  const mirror = data.registryMirror ? parseRegistryMirror(data.registryMirror) : null;
  const options = [...(data.caPem ? ["--ca", AGENT_CA] : []), ...(mirror ? ["--registry-mirror", `${mirror.host}=${mirror.url}`] : [])];
  const env = [
    '# Written by the Strata "device agent" layer; read by strata-agent.service. Edits here persist on the device.',
    `STRATA_PORTAL_URL=${data.portalUrl}`,
    `STRATA_AGENT_INTERVAL=${data.intervalSeconds}`,
    `STRATA_BOOT_TRIES=${data.bootTries}`,
    `STRATA_AGENT_OPTIONS=${options.join(" ")}`,
    // A registry whose certificate comes from the same CA as the portal's.
    ...(data.caPem ? [`NODE_EXTRA_CA_CERTS=${AGENT_CA}`] : []),
    "",
  ].join("\n");
  return definition({
    name: "device-agent",
    description:
      `Strata device agent: polls ${data.portalUrl} every ${data.intervalSeconds} s and installs what the channel names into the other ` +
      `A/B slot, which then gets ${data.bootTries} boot${data.bootTries === 1 ? "" : "s"} to reach multi-user.target. The registration ` +
      "token is in the image: give it a maximum number of uses.",
    requires: ["system/systemd", "system/boot"],
    files: [
      { path: "/usr/lib/strata/agent.mjs", mode: "0755", content: context.agentBundle },
      { path: `${AGENT_DIR}/agent.env`, mode: "0644", content: env },
      ...(data.caPem ? [{ path: AGENT_CA, mode: "0644", content: `${data.caPem}\n` }] : []),
      { path: AGENT_TOKEN, mode: "0600", content: `${data.registrationToken}\n` },
      { path: "/etc/systemd/system/strata-agent.service", mode: "0644", content: AGENT_UNIT },
    ],
    steps: [
      "apt-get update",
      // e2fsprogs: the agent formats the other slot with mkfs.ext4.
      "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs e2fsprogs",
      "apt-get clean",
      "rm -rf /var/lib/apt/lists/*",
      // The bundle runs on this Debian's Node (it targets Node 18, bookworm's).
      "node /usr/lib/strata/agent.mjs --version",
      "systemctl enable strata-agent.service",
    ],
    excludes: ["^/var/cache/apt/", "^/var/lib/apt/lists/", "^/var/log/"],
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The catalog

export interface CatalogEntry<S extends z.ZodType = z.ZodType> {
  id: string;
  title: string;
  description: string;
  /** Validates the form input; errors carry the field path. */
  input: S;
  build: (input: z.input<S>, context: CatalogContext) => PackageDefinition;
}

const entry = <S extends z.ZodType>(e: CatalogEntry<S>) => e as unknown as CatalogEntry;

export const CATALOG: ReadonlyArray<CatalogEntry> = [
  entry({
    id: "debian-packages",
    title: "Extra Debian packages",
    description: "Install packages from Debian bookworm by name, e.g. htop, curl, nginx-light.",
    input: DebianPackagesInputSchema,
    build: debianPackagesLayer,
  }),
  entry({
    id: "users",
    title: "Users with SSH keys",
    description: "Create login users and install their SSH public keys. Password login stays disabled.",
    input: UsersInputSchema,
    build: usersLayer,
  }),
  entry({
    id: "systemd-units",
    title: "Enabled services",
    description: "Enable systemd units at boot, e.g. nginx.service or fstrim.timer. The units must be installed by an earlier package.",
    input: SystemdUnitsInputSchema,
    build: systemdUnitsLayer,
  }),
  entry({
    id: "kernel-cmdline",
    title: "Kernel command line",
    description: "Add kernel arguments, e.g. console=ttyS0,115200n8. They are appended to the base arguments.",
    input: KernelCmdlineInputSchema,
    build: kernelCmdlineLayer,
  }),
  entry({
    id: "hostname-timezone",
    title: "Hostname and timezone",
    description: "Set the device hostname and timezone (Area/City, e.g. Europe/Berlin).",
    input: HostnameTimezoneInputSchema,
    build: hostnameTimezoneLayer,
  }),
  entry({
    id: "device-agent",
    title: "Strata device agent",
    description:
      "Keep devices on the image their channel names: the agent registers with a registration token, polls the portal, installs new releases into the other A/B slot and falls back when one does not boot. Needs base manifest 3.",
    input: DeviceAgentInputSchema,
    build: deviceAgentLayer,
  }),
];

/**
 * Builds the layer of catalog entry `id` from untrusted input; ValidationError names the bad field. `context`
 * carries what some entries ship besides the form (device-agent: the agent bundle).
 */
export function buildCatalogLayer(id: string, input: unknown, context: CatalogContext = {}): PackageDefinition {
  const found = CATALOG.find((e) => e.id === id);
  if (!found) throw new NotFoundError(`no catalog entry "${id}"; known: ${CATALOG.map((e) => e.id).join(", ")}`);
  return found.build(input as never, context);
}

// ---------------------------------------------------------------------------------------------------------------


function definition(def: Omit<PackageDefinitionInput, "category" | "version">): PackageDefinition {
  return PackageDefinitionSchema.parse({ category: LAYER_CATEGORY, version: "1", ...def });
}

/** `prefix-part-part`, squeezed to the package name alphabet; long names end in a short hash so they stay unique. */
export function layerName(prefix: string, parts: string[]): string {
  const slug = parts.join("-").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  const name = slug ? `${prefix}-${slug}` : prefix;
  if (name.length <= 64) return name;
  const hash = createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 8);
  return `${name.slice(0, 55).replace(/-+$/, "")}-${hash}`;
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
