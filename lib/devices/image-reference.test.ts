import { describe, expect, it } from "vitest";
import { parseImageReference } from "./image-reference";

const digest = `sha256:${"ab".repeat(32)}`;

describe("pinned image references", () => {
  it.each([
    ["127.0.0.1:5000/acme/web:1.2", { registry: "127.0.0.1:5000", repository: "acme/web", tag: "1.2", digest: null }],
    [`registry.example.com/acme/web@${digest}`, { registry: "registry.example.com", repository: "acme/web", tag: null, digest }],
    [`localhost:5000/web:r1.1@${digest}`, { registry: "localhost:5000", repository: "web", tag: "r1.1", digest }],
    ["localhost/acme/web:latest", { registry: "localhost", repository: "acme/web", tag: "latest", digest: null }],
  ])("reads %s", (reference, parsed) => {
    expect(parseImageReference(reference)).toEqual(parsed);
  });

  it.each([
    ["web:1", /image reference such as/],
    ["acme/web:1", /registry's host.*"acme" is not a host/],
    ["127.0.0.1:5000/acme/web", /must name a tag .* or a digest/],
    ["127.0.0.1:5000/Acme/web:1", /image reference such as/],
    ["127.0.0.1:5000/acme/web@sha256:abc", /image reference such as/],
    ["", /image reference such as/],
  ])("refuses %j, saying why", (reference, message) => {
    const parsed = parseImageReference(reference);
    expect(parsed).toHaveProperty("error");
    expect((parsed as { error: string }).error).toMatch(message);
  });
});
