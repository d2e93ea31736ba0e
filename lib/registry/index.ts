// The registry API the rest of Strata uses: one client, its errors, and where registries and their credentials are.
export {
  RegistryClient,
  MANIFEST_MEDIA_TYPES,
  isRepositoryName,
  isTag,
  type RegistryClientOptions,
  type RegistryHealth,
  type ManifestInfo,
  type FetchedManifest,
} from "./client";
export { credentialsFor, dockerConfigPath, type RegistryCredentials } from "./credentials";
export { parseRegistry, registryAnswers, RegistryUnavailableError, type RegistryEndpoint } from "./endpoint";
export { RegistryAuthError, RegistryNotFoundError, RegistryRequestError, DigestMismatchError } from "./errors";
export { parseChallenges, type Challenge } from "./challenge";
export { digestOf, isDigest, assertDigest } from "./digest";
