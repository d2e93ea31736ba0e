import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { credentialsFor, dockerConfigPath } from "./credentials";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("credentialsFor", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const writeConfig = (config: unknown) => fs.writeFileSync(path.join(dir, "config.json"), typeof config === "string" ? config : JSON.stringify(config));

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-docker-config-"));
    env = { NODE_ENV: "test", DOCKER_CONFIG: dir, HOME: "/nonexistent" };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("uses REGISTRY_USERNAME/REGISTRY_PASSWORD for any host, before config.json", () => {
    writeConfig({ auths: { "reg.example": { auth: b64("docker:login") } } });
    const withEnv = { ...env, REGISTRY_USERNAME: "ci", REGISTRY_PASSWORD: "pw" };
    expect(credentialsFor("reg.example", withEnv)).toEqual({ username: "ci", password: "pw" });
    expect(credentialsFor("other.example:5000", withEnv)).toEqual({ username: "ci", password: "pw" });
  });

  it("refuses half of the environment pair instead of silently going anonymous", () => {
    expect(() => credentialsFor("reg.example", { ...env, REGISTRY_USERNAME: "ci" })).toThrow(/REGISTRY_PASSWORD/);
  });

  it("reads `auth` (base64 user:pass) for host:port from $DOCKER_CONFIG/config.json", () => {
    writeConfig({ auths: { "127.0.0.1:5000": { auth: b64("alice:pa:ss") } } });
    expect(dockerConfigPath(env)).toBe(path.join(dir, "config.json"));
    expect(credentialsFor("127.0.0.1:5000", env)).toEqual({ username: "alice", password: "pa:ss" });
    expect(credentialsFor("127.0.0.1:5001", env)).toBeNull();
  });

  it("matches keys written with a scheme or a /v1/ path, and Docker Hub's aliases", () => {
    writeConfig({
      auths: {
        "https://reg.example": { username: "bob", password: "pw" },
        "https://legacy.example/v1/": { auth: b64("carol:pw2") },
        "https://index.docker.io/v1/": { auth: b64("hubuser:hubpw") },
      },
    });
    expect(credentialsFor("reg.example", env)).toEqual({ username: "bob", password: "pw" });
    expect(credentialsFor("legacy.example", env)).toEqual({ username: "carol", password: "pw2" });
    expect(credentialsFor("docker.io", env)).toEqual({ username: "hubuser", password: "hubpw" });
  });

  it("returns an identity token next to the user name", () => {
    writeConfig({ auths: { "reg.example": { auth: b64("00000000-0000-0000-0000-000000000000:"), identitytoken: "refresh-me" } } });
    expect(credentialsFor("reg.example", env)).toEqual({
      username: "00000000-0000-0000-0000-000000000000",
      password: "",
      identityToken: "refresh-me",
    });
  });

  it("treats hosts whose secret is in a credential helper as having no credentials, without failing", () => {
    writeConfig({ auths: { "reg.example": {} }, credsStore: "pass", credHelpers: { "helper.example": "ecr-login" } });
    expect(credentialsFor("reg.example", env)).toBeNull();
    expect(credentialsFor("helper.example", env)).toBeNull();
  });

  it("returns null when there is no config.json", () => {
    expect(credentialsFor("reg.example", env)).toBeNull();
  });

  it("names the file when config.json is not JSON", () => {
    writeConfig("{ auths: ");
    expect(() => credentialsFor("reg.example", env)).toThrow(path.join(dir, "config.json"));
  });
});
