// The agent's command line (`npm run agent -- …`, or `node strata-agent.mjs …` on a device): flags in, exit code out.
import path from "node:path";
import { parseArgs } from "node:util";
import type { RegistryCredentials } from "../registry";
import { runCycle, runLoop, type AgentOptions } from "./agent";
import { lockRoot } from "./lock";
import { AGENT_VERSION } from "./version";

export const USAGE = `Usage: strata-agent --root <dir> [options]

Keeps a device on the image its Strata channel names: polls the portal, verifies the signed
channel document, pulls the image from the registry into the passive slot, switches slots and
reports the result.

  --server <url>             the portal, e.g. https://portal.example:3443 (needed to register;
                             afterwards the registered one is used)
  --root <dir>               A/B root: <dir>/slots/{a,b}, <dir>/active, state in <dir>/agent.json
  --ca <file>                PEM certificate of the CA that signed the portal's certificate
  --key <file>               the channel's Ed25519 public key (PEM), obtained out of band; without
                             it, registration pins the key the portal sends
  --token <token>            registration token (first run only)
  --name <name>              device name (first run only)
  --once                     run one cycle and exit: 0 when it succeeded or had nothing to do
  --interval <seconds>       seconds between polls (default 60, ±20% jitter; backs off on errors)
  --registry-username <user> registry credentials (or STRATA_REGISTRY_USERNAME and
  --registry-password <pw>   STRATA_REGISTRY_PASSWORD); anonymous pulls without them

  The registry is reached over HTTPS (plain HTTP on loopback) with the system's CAs; for a
  registry whose certificate comes from a private CA, start node with NODE_EXTRA_CA_CERTS=<pem>.

  --version                  print the agent's version
  --help                     print this help
`;

/** The options runCycle/runLoop take, from the command line and the environment; throws with a message for the user. */
export function parseCommandLine(argv: string[], env: Record<string, string | undefined> = process.env) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      server: { type: "string" },
      root: { type: "string" },
      ca: { type: "string" },
      key: { type: "string" },
      token: { type: "string" },
      name: { type: "string" },
      once: { type: "boolean" },
      interval: { type: "string" },
      "registry-username": { type: "string" },
      "registry-password": { type: "string" },
      version: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return { action: "help" as const };
  if (values.version) return { action: "version" as const };
  if (!values.root) throw new Error("--root is required (the directory holding slots/a, slots/b and the active marker)");

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
    options: {
      root: path.resolve(values.root),
      server: values.server,
      ca: values.ca && path.resolve(values.ca),
      key: values.key && path.resolve(values.key),
      token: values.token,
      name: values.name,
      registryCredentials,
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
  const options: AgentOptions = { ...command.options, log };
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
  log(`strata-agent ${AGENT_VERSION} polling every ${command.intervalSeconds} s, root ${options.root}`);
  await runLoop({ ...options, intervalSeconds: command.intervalSeconds, signal: stop.signal });
  return 0;
}

const oneLine = (message: string) => message.replace(/\s*\n\s*/g, " ");
