// Limits of builds: the resources of a build container, the output a build may print, its total time and the disk
// it may fill. Each is a setting (read here and nowhere else), validated with its name; defaults suit a shared farm.
import os from "node:os";
import type Dockerode from "dockerode";
import type { BuildLimits } from "./run-packages";

export interface MachineSize {
  cpus: number;
  memoryBytes: number;
}

/** What a build may print: in all (past it the build fails) and per second (past it lines are dropped and counted). */
export interface OutputLimits {
  maxBytes: number;
  maxLines: number;
  linesPerSecond: number;
}

const MB = 1024 * 1024;

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { maxBytes: 50 * MB, maxLines: 200_000, linesPerSecond: 2_000 };
/** A whole build, every package and the push included. */
export const DEFAULT_DEADLINE_MS = 4 * 3600 * 1000;
/** The writable layer of one build container. */
export const DEFAULT_DISK_BYTES = 20_480 * MB;

/** The settings behind each limit, for messages that tell the user which one to raise. */
export const LIMIT_SETTINGS = {
  maxBytes: "STRATA_BUILD_LOG_MAX_MB",
  maxLines: "STRATA_BUILD_LOG_MAX_LINES",
  linesPerSecond: "STRATA_BUILD_LOG_LINES_PER_S",
  deadline: "STRATA_BUILD_DEADLINE_S",
  disk: "STRATA_BUILD_DISK_MB",
} as const;

/** Memory a build may use by default: its share of the machine, leaving a quarter for the engine, the web and the worker. */
const MEMORY_SHARE = 0.75;
const MIN_MEMORY_BYTES = 512 * 1024 * 1024;

/** The size of the machine the engine runs on (it may be remote), or this one when the engine does not say. */
export async function engineMachine(docker: Dockerode): Promise<MachineSize> {
  try {
    const info = (await docker.info()) as { NCPU?: number; MemTotal?: number };
    if (info.NCPU && info.MemTotal) return { cpus: info.NCPU, memoryBytes: info.MemTotal };
  } catch {
    // fall through to this machine
  }
  return { cpus: os.availableParallelism?.() ?? os.cpus().length, memoryBytes: os.totalmem() };
}

function positive(env: Record<string, string | undefined>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

/** A count: a positive whole number. */
function count(env: Record<string, string | undefined>, name: string): number | undefined {
  const value = positive(env, name);
  if (value !== undefined && !Number.isInteger(value)) throw new Error(`${name} must be a whole number, got "${env[name]}"`);
  return value;
}

/**
 * Limits of one build. CPUs and memory default to the machine divided by the builds running on it at once
 * (STRATA_WORKER_CONCURRENCY): one worker on a 2-core machine builds with both cores, not half.
 * STRATA_BUILD_CPUS / STRATA_BUILD_MEMORY_MB / STRATA_BUILD_PIDS / STRATA_BUILD_STEP_TIMEOUT_S override; the output
 * (STRATA_BUILD_LOG_MAX_MB, STRATA_BUILD_LOG_MAX_LINES, STRATA_BUILD_LOG_LINES_PER_S), the whole build's time
 * (STRATA_BUILD_DEADLINE_S) and the disk a build container may fill (STRATA_BUILD_DISK_MB) have fixed defaults.
 */
export function buildLimits(machine: MachineSize, env: Record<string, string | undefined> = process.env): Required<BuildLimits> {
  const concurrency = Math.max(1, Math.floor(positive(env, "STRATA_WORKER_CONCURRENCY") ?? 1));
  const cpus = positive(env, "STRATA_BUILD_CPUS") ?? Math.max(machine.cpus / concurrency, 0.5);
  const memoryMb = positive(env, "STRATA_BUILD_MEMORY_MB");
  const memoryBytes = memoryMb !== undefined ? memoryMb * MB : Math.max(Math.floor((machine.memoryBytes * MEMORY_SHARE) / concurrency), MIN_MEMORY_BYTES);
  return {
    memoryBytes: Math.floor(memoryBytes),
    nanoCpus: Math.round(cpus * 1e9),
    pidsLimit: Math.floor(positive(env, "STRATA_BUILD_PIDS") ?? 512),
    stepTimeoutMs: (positive(env, "STRATA_BUILD_STEP_TIMEOUT_S") ?? 1800) * 1000,
    output: {
      maxBytes: Math.floor((positive(env, LIMIT_SETTINGS.maxBytes) ?? DEFAULT_OUTPUT_LIMITS.maxBytes / MB) * MB),
      maxLines: count(env, LIMIT_SETTINGS.maxLines) ?? DEFAULT_OUTPUT_LIMITS.maxLines,
      linesPerSecond: count(env, LIMIT_SETTINGS.linesPerSecond) ?? DEFAULT_OUTPUT_LIMITS.linesPerSecond,
    },
    deadlineMs: Math.round((positive(env, LIMIT_SETTINGS.deadline) ?? DEFAULT_DEADLINE_MS / 1000) * 1000),
    diskBytes: Math.floor((positive(env, LIMIT_SETTINGS.disk) ?? DEFAULT_DISK_BYTES / MB) * MB),
  };
}

/** The output limits of `limits`, the defaults where a caller (a test) gave none. */
export const outputLimitsOf = (limits: Pick<BuildLimits, "output">): OutputLimits => limits.output ?? DEFAULT_OUTPUT_LIMITS;

/** "50 MB", "1.5 MB": the figures the settings are written in. */
export const megabytes = (bytes: number) => `${Number((bytes / MB).toFixed(1))} MB`;

/** "4 h", "90 s": a duration as the deadline setting would be written. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0 && s >= 60) return `${s / 60} min`;
  return `${s} s`;
}

// The failures of these limits: final (a retry would pass the same limit), each naming its setting.

/** The build printed more than the limit allows: the container was killed. */
export class OutputLimitError extends Error {
  readonly retryable = false;
  constructor(
    readonly packageId: string,
    readonly what: "bytes" | "lines",
    readonly limit: number,
  ) {
    super(
      `${packageId} printed more than ${what === "bytes" ? megabytes(limit) : `${limit} lines`} of output (the limit, ${what === "bytes" ? LIMIT_SETTINGS.maxBytes : LIMIT_SETTINGS.maxLines}); ` +
        "print less, e.g. apt-get -q, or redirect to a file",
    );
    this.name = "OutputLimitError";
  }
}

/** A build container's writable layer grew past the disk limit: the container was killed. */
export class DiskLimitError extends Error {
  readonly retryable = false;
  constructor(
    readonly packageId: string,
    readonly limitBytes: number,
    readonly usedBytes?: number,
  ) {
    super(
      `${packageId} wrote more than ${Math.round(limitBytes / MB)} MB to the disk (the limit, ${LIMIT_SETTINGS.disk})` +
        `${usedBytes ? `: ${Math.round(usedBytes / MB)} MB` : ""}; remove what the layer does not need (apt caches, downloads) in the same step`,
    );
    this.name = "DiskLimitError";
  }
}

/** The message of a build stopped at the deadline (the build's AbortSignal fired with reason "deadline"). */
export const deadlineMessage = (deadlineMs: number) =>
  `The build did not finish within ${duration(deadlineMs)} (the limit, ${LIMIT_SETTINGS.deadline}) and was stopped; make its steps faster, or ask the operator for a longer deadline.`;

/** Entries (files, directories, links, deletions) one package's artefact may hold, by default. */
export const DEFAULT_ARTEFACT_MAX_ENTRIES = 200_000;

/**
 * STRATA_ARTEFACT_MAX_ENTRIES: past it, extraction stops and the build fails, so a layer of millions of empty files
 * never becomes a file list of millions in memory, in PostgreSQL and in API responses.
 */
export function artefactMaxEntries(env: Record<string, string | undefined> = process.env): number {
  return count(env, "STRATA_ARTEFACT_MAX_ENTRIES") ?? DEFAULT_ARTEFACT_MAX_ENTRIES;
}
