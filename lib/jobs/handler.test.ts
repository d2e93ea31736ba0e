import { describe, expect, it } from "vitest";
import { isRetryable } from "./handler";
import { EngineUnavailableError } from "../builder/engine/client";
import { engineError } from "../builder/engine/images";
import { BuildCancelledError, BuildTimeoutError, StepFailedError } from "../builder/errors";
import { BaseImageUnavailableError } from "../builder/base-image";
import { RegistryAuthError, RegistryRequestError, RegistryUnavailableError } from "../registry/errors";
import { DigestMismatchError } from "../registry/errors";
import { jobSettings } from "../config";

const errno = (code: string, message = `connect ${code} 127.0.0.1:5055`) => Object.assign(new Error(message), { code });

describe("isRetryable", () => {
  it("retries outages of the engine and the registry", () => {
    expect(isRetryable(new EngineUnavailableError("The Docker engine does not answer."))).toBe(true);
    expect(isRetryable(new RegistryUnavailableError("127.0.0.1:5055", "ECONNREFUSED"))).toBe(true);
    // What the engine wrapper makes of a refused socket.
    expect(isRetryable(engineError("create container", "x", errno("ECONNREFUSED")))).toBe(true);
  });

  it("retries untyped refused or reset connections, also as a cause or inside an AggregateError", () => {
    expect(isRetryable(errno("ECONNREFUSED"))).toBe(true);
    expect(isRetryable(errno("ECONNRESET", "read ECONNRESET"))).toBe(true);
    expect(isRetryable(new TypeError("fetch failed", { cause: errno("ECONNREFUSED") }))).toBe(true);
    expect(isRetryable(new TypeError("fetch failed", { cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }) }))).toBe(true);
    expect(isRetryable(new AggregateError([errno("ECONNREFUSED"), errno("ECONNREFUSED")]))).toBe(true);
    expect(isRetryable(new Error("socket hang up"))).toBe(true);
  });

  it("fails at once what retrying cannot fix", () => {
    expect(isRetryable(new StepFailedError("layer/app", 1, 3, ["boom"]))).toBe(false);
    expect(isRetryable(new BuildTimeoutError("layer/app", 1, 1000))).toBe(false);
    expect(isRetryable(new BuildCancelledError("layer/app"))).toBe(false);
    expect(isRetryable(new RegistryAuthError({ registry: "r", status: 401, request: "a push", credentialsSent: true }))).toBe(false);
    expect(isRetryable(new RegistryRequestError("r", "a push", 400, "MANIFEST_INVALID"))).toBe(false);
    expect(isRetryable(new DigestMismatchError({ registry: "r", what: "blob", expected: "sha256:a", actual: "sha256:b", source: "the manifest" }))).toBe(false);
    expect(isRetryable(new Error("relation \"builds\" does not exist"))).toBe(false);
    expect(isRetryable(Object.assign(new Error("no such file"), { code: "ENOENT" }))).toBe(false);
    expect(isRetryable("a string")).toBe(false);
    expect(isRetryable(null)).toBe(false);
  });

  it("lets a typed error's own verdict win over the connection error it wraps", () => {
    const base = new BaseImageUnavailableError("the base image cannot be made", { cause: errno("ECONNRESET") });
    expect(base.retryable).toBe(false);
    expect(isRetryable(base)).toBe(false);
    expect(isRetryable(new Error("pull failed", { cause: new RegistryUnavailableError("r", "ECONNRESET") }))).toBe(true);
  });
});

describe("jobSettings", () => {
  it("has the defaults of a shared build farm", () => {
    expect(jobSettings({})).toEqual({ buildRetries: 3, retryDelaySeconds: 10, retryBackoff: true, workerConcurrency: 1, orgMaxRunning: 2 });
  });

  it("reads each variable", () => {
    const settings = jobSettings({ STRATA_BUILD_RETRIES: "0", STRATA_BUILD_RETRY_DELAY_S: "2", STRATA_BUILD_RETRY_BACKOFF: "false", STRATA_WORKER_CONCURRENCY: "4", STRATA_ORG_MAX_RUNNING: "0" });
    expect(settings).toEqual({ buildRetries: 0, retryDelaySeconds: 2, retryBackoff: false, workerConcurrency: 4, orgMaxRunning: 0 });
  });

  it("refuses bad values with the variable's name", () => {
    expect(() => jobSettings({ STRATA_BUILD_RETRIES: "-1" })).toThrow(/STRATA_BUILD_RETRIES must be a whole number of at least 0, got "-1"/);
    expect(() => jobSettings({ STRATA_BUILD_RETRY_DELAY_S: "0" })).toThrow(/STRATA_BUILD_RETRY_DELAY_S/);
    expect(() => jobSettings({ STRATA_BUILD_RETRY_DELAY_S: "1.5" })).toThrow(/STRATA_BUILD_RETRY_DELAY_S/);
    expect(() => jobSettings({ STRATA_WORKER_CONCURRENCY: "two" })).toThrow(/STRATA_WORKER_CONCURRENCY/);
    expect(() => jobSettings({ STRATA_ORG_MAX_RUNNING: "x" })).toThrow(/STRATA_ORG_MAX_RUNNING/);
    expect(() => jobSettings({ STRATA_BUILD_RETRY_BACKOFF: "maybe" })).toThrow(/STRATA_BUILD_RETRY_BACKOFF must be true or false/);
  });
});
