import { describe, expect, it } from "vitest";
import { parseImageReference } from "./reference";

const digest = `sha256:${"0123456789abcdef".repeat(4)}`;

describe("parseImageReference", () => {
  it("splits host with port, nested repository and digest", () => {
    expect(parseImageReference(`127.0.0.1:5000/acme/web@${digest}`)).toEqual({ registry: "127.0.0.1:5000", repository: "acme/web", tag: null, digest });
  });

  it("reads a tag, and does not take the host's port for one", () => {
    expect(parseImageReference("registry.example:5000/acme/os/web:1.2.0")).toEqual({ registry: "registry.example:5000", repository: "acme/os/web", tag: "1.2.0", digest: null });
    expect(parseImageReference("ghcr.io/acme/web:latest").registry).toBe("ghcr.io");
  });

  it("keeps both tag and digest when both are written", () => {
    expect(parseImageReference(`localhost:5000/acme/web:1.2.0@${digest}`)).toMatchObject({ tag: "1.2.0", digest });
  });

  it("refuses references without a host, repository, tag or digest, or with a malformed digest", () => {
    expect(() => parseImageReference("web:1.0")).toThrow(/names no registry host/);
    expect(() => parseImageReference("127.0.0.1:5000/acme/web")).toThrow(/neither a tag nor a digest/);
    expect(() => parseImageReference("127.0.0.1:5000/:1.0")).toThrow(/no repository/);
    expect(() => parseImageReference("127.0.0.1:5000/acme/web@sha256:abc")).toThrow(/malformed digest/);
  });
});
