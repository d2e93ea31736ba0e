// Typed failures of a build. `retryable` tells the job wrapper whether to put the job back (engine or registry
// trouble) or to fail the build for good (the package itself is at fault, or the user cancelled).
export { EngineUnavailableError } from "./engine/client";
export { RegistryUnavailableError } from "../registry/endpoint";

/** A step exited non-zero: final. */
export class StepFailedError extends Error {
  readonly retryable = false;
  constructor(
    readonly packageId: string,
    readonly step: number,
    readonly exitCode: number,
    /** The last lines of the package's output. */
    readonly outputTail: string[],
    readonly oomKilled = false,
  ) {
    super(
      `${packageId}: step ${step} failed with exit code ${exitCode}${oomKilled ? " (killed: out of memory)" : ""}` +
        (outputTail.length ? `\n${outputTail.join("\n")}` : ""),
    );
    this.name = "StepFailedError";
  }
}

/** A step ran longer than the limit and was killed: final. */
export class BuildTimeoutError extends Error {
  readonly retryable = false;
  constructor(
    readonly packageId: string,
    readonly step: number,
    readonly timeoutMs: number,
  ) {
    super(`${packageId}: step ${step} did not finish within ${Math.round(timeoutMs / 1000)}s and was stopped`);
    this.name = "BuildTimeoutError";
  }
}

/** The build's AbortSignal fired: the running container was killed and removed. */
export class BuildCancelledError extends Error {
  readonly retryable = false;
  constructor(readonly packageId?: string) {
    super(packageId ? `build cancelled while building ${packageId}` : "build cancelled");
    this.name = "BuildCancelledError";
  }
}

