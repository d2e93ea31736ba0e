// The agent's command line (`npm run agent -- …`, or `node strata-agent.mjs …` on a device): flags in, exit code out.
import path from "node:path";
import { parseArgs } from "node:util";
import type { RegistryCredentials } from "../registry";
import { runCycle, runLoop, type AgentOptions } from "./agent";
import { detectDiskMode, realDiskSystem } from "./disk";
import { lockRoot } from "./lock";
import { parseRegistryMirrors } from "./mirror";
import { AGENT_VERSION } from "./version";

export const USAGE = `Usage: strata-agent --root <dir> [options]

Keeps a device on the image its Strata channel names: polls the portal, verifies the signed
channel document, pulls the image from the registry into the passive slot, switches slots and
reports the result.

  --server <url>             the portal, e.g. https://portal.example:3443 (needed to register;
                             afterwards the registered one is used)
  --root <dir>               the agent's state: <dir>/agent.json, <dir>/slots/<a|b>.json (what each
                             slot holds) and, in directory mode, the slots <dir>/slots/{a,b} and
                             the marker <dir>/active
  --ca <file>                PEM certificate of the CA that signed the portal's certificate
  --key <file>               the channel's Ed25519 public key (PEM), obtained out of band; without
                             it, registration pins the key the portal sends
  --token <token>            registration token (first run only)
  --token-file <file>        a file holding the registration token (first run only)
  --name <name>              device name (first run only)
  --once                     run one cycle and exit: 0 when it succeeded or had nothing to do
  --interval <seconds>       seconds between polls (default 60, ±20% jitter; backs off on errors)
  --registry-username <user> registry credentials (or STRATA_REGISTRY_USERNAME and
  --registry-password <pw>   STRATA_REGISTRY_PASSWORD); anonymous pulls without them
  --registry-mirror <host>=<url>
                             pull images whose reference names <host> from <url> instead, e.g.
                             127.0.0.1:5055=http://10.0.2.2:5055 (repeatable; digests are still
                             checked)

  The registry is reached over HTTPS (plain HTTP on loopback) with the system's CAs; for a
  registry whose certificate comes from a private CA, start node with NODE_EXTRA_CA_CERTS=<pem>.

Slots:
  --disk                     disk mode: the slots are the partitions strata-a and strata-b of a
                             Strata disk. An upgrade formats the other slot's partition, unpacks
                             the image into it, writes its grub configuration on the EFI system
                             partition, has grub boot it on trial and reboots; once the new slot
                             reached multi-user.target (strata-boot-good.service), the next cycle
                             reports success. When grub fell back instead, it reports a failure
                             and does not install that image again. Needs root, and base
                             manifest 3 (system/boot) in the image. The default when the kernel
                             command line has strata.slot= and the disk has a strata-a partition.
  --dir-slots                directory mode: the slots are <root>/slots/{a,b} (the default on
                             anything that did not boot from a Strata disk)
  --boot-tries <n>           disk mode: boots a new slot gets to reach multi-user.target before
                             grub falls back (1-3, default 2)
  --no-reboot                disk mode: do not reboot after installing; the new slot boots at the
                             next reboot

  --version                  print the agent's version
  --help                     print this help
`;

/** The flags; every one is in USAGE (cli.test.ts checks). */
export const OPTIONS = {
  server: { type: "string" },
  root: { type: "string" },
  ca: { type: "string" },
  key: { type: "string" },
  token: { type: "string" },
  "token-file": { type: "string" },
  name: { type: "string" },
  once: { type: "boolean" },
  interval: { type: "string" },
  "registry-username": { type: "string" },
  "registry-password": { type: "string" },
  "registry-mirror": { type: "string", multiple: true },
  disk: { type: "boolean" },
  "dir-slots": { type: "boolean" },
  "boot-tries": { type: "string" },
  "no-reboot": { type: "boolean" },
  version: { type: "boolean" },
  help: { type: "boolean" },
} as const;

/** The options runCycle/runLoop take, from the command line and the environment; throws with a message for the user. */
export function parseCommandLine(argv: string[], env: Record<string, string | undefined> = process.env) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: OPTIONS,
  });
  if (values.help) return { action: "help" as const };
  if (values.version) return { action: "version" as const };
  if (!values.root) throw new Error("--root is required (the directory holding the agent's state, and in directory mode its slots)");
  if (values.token !== undefined && values["token-file"] !== undefined) throw new Error("give the registration token with --token or --token-file, not both");
  if (values.disk && values["dir-slots"]) throw new Error("--disk and --dir-slots are two different slot layouts; give one (or neither, to detect it)");
  const bootTries = values["boot-tries"] === undefined ? 2 : Number(values["boot-tries"]);
  if (!Number.isInteger(bootTries) || bootTries < 1 || bootTries > 3) throw new Error(`--boot-tries must be 1, 2 or 3 (what grub.cfg counts down), not "${values["boot-tries"]}"`);
  let registryMirrors;
  try {
    registryMirrors = parseRegistryMirrors(values["registry-mirror"] ?? []);
  } catch (err) {
    throw new Error(`--registry-mirror: ${(err as Error).message}`);
  }

  const interval = values.interval === undefined ? 60 : Number(values.interval);
  if (!Number.isFinite(interval) || interval < 1) throw new Error(`--interval must be a number of seconds ≥ 1, not "${values.interval}"`);
  if (values.server !== undefined) {
    let url: URL;
    try {
      url = new URL(values.server);
    } catch {
      throw new Error(`--server must be a URL such as https://portal.example:3443, not "${values.server}"`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(`--server must be an https:// (or, for development, http://) URL, not "${values.server}"`);
  }

  const username = values["registry-username"] ?? env.STRATA_REGISTRY_USERNAME;
  const password = values["registry-password"] ?? env.STRATA_REGISTRY_PASSWORD;
  if (!!username !== !!password) throw new Error("give both a registry username and password, or neither");
  const registryCredentials: RegistryCredentials | null = username && password ? { username, password } : null;

  return {
    action: values.once ? ("once" as const) : ("loop" as const),
    intervalSeconds: interval,
    /** "auto": disk mode when this machine booted a slot of a Strata disk (decided in main, which may look). */
    slots: values.disk ? ("disk" as const) : values["dir-slots"] ? ("dir" as const) : ("auto" as const),
    bootTries,
    reboot: !values["no-reboot"],
    options: {
      root: path.resolve(values.root),
      server: values.server,
      ca: values.ca && path.resolve(values.ca),
      key: values.key && path.resolve(values.key),
      token: values.token,
      tokenFile: values["token-file"] && path.resolve(values["token-file"]),
      name: values.name,
      registryCredentials,
      registryMirrors,
    } satisfies Omit<AgentOptions, "log">,
  };
}

/** Runs the agent; resolves to the process's exit code. */
export async function main(argv: string[]): Promise<number> {
  let command: ReturnType<typeof parseCommandLine>;
  try {
    command = parseCommandLine(argv);
  } catch (err) {
    process.stderr.write(`strata-agent: ${(err as Error).message}\nRun with --help for the options.\n`);
    return 2;
  }
  if (command.action === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command.action === "version") {
    process.stdout.write(`strata-agent ${AGENT_VERSION}\n`);
    return 0;
  }

  const log = (line: string) => process.stdout.write(`[agent] ${line}\n`);
  const system = realDiskSystem();
  const disk = command.slots === "disk" || (command.slots === "auto" && (await detectDiskMode(system)));
  const options: AgentOptions = { ...command.options, log, disk: disk ? { system, bootTries: command.bootTries, reboot: command.reboot } : undefined };
  let unlock: () => void;
  try {
    unlock = lockRoot(options.root);
  } catch (err) {
    process.stderr.write(`strata-agent: ${oneLine((err as Error).message)}\n`);
    return 1;
  }
  try {
    return await run(command, options, log);
  } finally {
    unlock();
  }
}

async function run(command: Extract<ReturnType<typeof parseCommandLine>, { action: "once" | "loop" }>, options: AgentOptions, log: (line: string) => void): Promise<number> {
  if (command.action === "once") {
    try {
      await runCycle(options);
      return 0;
    } catch (err) {
      process.stderr.write(`strata-agent: ${oneLine((err as Error).message)}\n`);
      return 1;
    }
  }

  // The first signal lets the cycle under way finish (a slot switch is never cut short); a second one exits at once.
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(130);
    log(`${signal}: stopping after the current cycle`);
    stop.abort();
  };
  process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
  log(
    `strata-agent ${AGENT_VERSION} polling every ${command.intervalSeconds} s, root ${options.root}, ` +
      (options.disk ? `slots on the partitions strata-a and strata-b (disk mode, ${options.disk.bootTries} boot tries)` : `slots in ${options.root}/slots`),
  );
  await runLoop({ ...options, intervalSeconds: command.intervalSeconds, signal: stop.signal });
  return 0;
}

const oneLine = (message: string) => message.replace(/\s*\n\s*/g, " ");
