// Resource limits of build containers: configurable, and by default a fair share of the engine's machine.
import os from "node:os";
import type Dockerode from "dockerode";
import type { BuildLimits } from "./run-packages";

export interface MachineSize {
  cpus: number;
  memoryBytes: number;
}

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

/**
 * Limits of one build container. CPUs and memory default to the machine divided by the builds running on it
 * at once (STRATA_WORKER_CONCURRENCY): one worker on a 2-core machine builds with both cores, not half.
 * STRATA_BUILD_CPUS / STRATA_BUILD_MEMORY_MB / STRATA_BUILD_PIDS / STRATA_BUILD_STEP_TIMEOUT_S override.
 */
export function buildLimits(machine: MachineSize, env: Record<string, string | undefined> = process.env): BuildLimits {
  const concurrency = Math.max(1, Math.floor(positive(env, "STRATA_WORKER_CONCURRENCY") ?? 1));
  const cpus = positive(env, "STRATA_BUILD_CPUS") ?? Math.max(machine.cpus / concurrency, 0.5);
  const memoryMb = positive(env, "STRATA_BUILD_MEMORY_MB");
  const memoryBytes = memoryMb !== undefined ? memoryMb * 1024 * 1024 : Math.max(Math.floor((machine.memoryBytes * MEMORY_SHARE) / concurrency), MIN_MEMORY_BYTES);
  return {
    memoryBytes: Math.floor(memoryBytes),
    nanoCpus: Math.round(cpus * 1e9),
    pidsLimit: Math.floor(positive(env, "STRATA_BUILD_PIDS") ?? 512),
    stepTimeoutMs: (positive(env, "STRATA_BUILD_STEP_TIMEOUT_S") ?? 1800) * 1000,
  };
}
