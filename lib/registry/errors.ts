// The ways talking to a registry fails, each with a message that names the registry and says what to do.
import { NotFoundError, UnavailableError } from "../errors";
import { dockerConfigPath } from "./credentials";

export { RegistryUnavailableError } from "./endpoint";

/**
 * The registry refused us (401/403 after we tried what credentials we have). Not retryable: the same
 * request fails the same way until someone fixes the credentials. An UnavailableError because, for
 * whoever called Strata, a registry Strata cannot sign in to is a service that is down.
 */
export class RegistryAuthError extends UnavailableError {
  readonly retryable = false;
  readonly registry: string;
  readonly httpStatus: number;
  readonly credentialsSent: boolean;
  constructor(opts: { registry: string; status: number; request: string; credentialsSent: boolean; username?: string; detail?: string }) {
    const { registry, status, request, credentialsSent } = opts;
    const answer = `HTTP ${status}${opts.detail ? `: ${opts.detail}` : ""}`;
    const sent = credentialsSent
      ? `credentials${opts.username ? ` for user "${opts.username}"` : ""} were sent and refused`
      : "no credentials were sent (none found for this registry)";
    const fix = credentialsSent
      ? `Check that they are right and allowed to do this: they come from REGISTRY_USERNAME/REGISTRY_PASSWORD, or from \`docker login ${registry}\` (${dockerConfigPath()}).`
      : `Set REGISTRY_USERNAME and REGISTRY_PASSWORD, or run \`docker login ${registry}\`, which writes them to ${dockerConfigPath()}.`;
    super(`The registry ${registry} refused ${request} (${answer}); ${sent}. ${fix}`);
    this.registry = registry;
    this.httpStatus = status;
    this.credentialsSent = credentialsSent;
  }
}

/** The registry has no such manifest or blob (HTTP 404). */
export class RegistryNotFoundError extends NotFoundError {
  readonly registry: string;
  constructor(registry: string, what: string) {
    super(`The registry ${registry} has no ${what}.`);
    this.registry = registry;
  }
}

/**
 * Content whose digest is not the one it was asked for or announced with. Not retryable as such: it
 * means corrupt storage or something rewriting traffic, which someone has to look at.
 */
export class DigestMismatchError extends Error {
  readonly expected: string;
  readonly actual: string;
  constructor(opts: { registry: string; what: string; expected: string; actual: string; source: string }) {
    super(
      `${opts.what} on the registry ${opts.registry} has digest ${opts.actual}, but ${opts.source} says ${opts.expected}. ` +
        "The registry's storage may be corrupt, or something between Strata and the registry altered the data.",
    );
    this.name = "DigestMismatchError";
    this.expected = opts.expected;
    this.actual = opts.actual;
  }
}

/** Any other refusal (4xx): our request was wrong in the registry's eyes, e.g. MANIFEST_INVALID. Not retryable. */
export class RegistryRequestError extends Error {
  readonly registry: string;
  readonly httpStatus: number;
  constructor(registry: string, request: string, status: number, detail: string) {
    super(`The registry ${registry} answered HTTP ${status} to ${request}${detail ? `: ${detail}` : ""}`);
    this.name = "RegistryRequestError";
    this.registry = registry;
    this.httpStatus = status;
  }
}
