export * from "./orgs";
export * from "./users";
export * from "./api-tokens";
export * from "./sign-in-attempts";
export * from "./audit-log";
export * from "./manifests";
export * from "./builds";
export * from "./repositories";
