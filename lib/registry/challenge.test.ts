import { describe, expect, it } from "vitest";
import { parseChallenges } from "./challenge";

describe("parseChallenges", () => {
  it("reads a distribution Bearer challenge, unquoting values that hold commas", () => {
    const header = 'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:acme/os:pull,push"';
    expect(parseChallenges(header)).toEqual([
      {
        scheme: "bearer",
        params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:acme/os:pull,push" },
      },
    ]);
  });

  it("tells several challenges in one header apart (fetch joins repeated headers with a comma)", () => {
    const header = 'Basic realm="Registry Realm", Bearer realm="https://a/t?x=1,2", scope="repository:a:pull repository:b:pull"';
    expect(parseChallenges(header)).toEqual([
      { scheme: "basic", params: { realm: "Registry Realm" } },
      { scheme: "bearer", params: { realm: "https://a/t?x=1,2", scope: "repository:a:pull repository:b:pull" } },
    ]);
  });

  it("accepts unquoted tokens, escapes, spaces around '=' and upper-case names", () => {
    expect(parseChallenges('BASIC Realm = "say \\"hi\\"" , charset=UTF-8')).toEqual([
      { scheme: "basic", params: { realm: 'say "hi"', charset: "UTF-8" } },
    ]);
  });

  it("reads token68 challenges and bare schemes", () => {
    expect(parseChallenges("Negotiate abc+/==, NTLM, Basic realm=x")).toEqual([
      { scheme: "negotiate", params: {}, token68: "abc+/==" },
      { scheme: "ntlm", params: {} },
      { scheme: "basic", params: { realm: "x" } },
    ]);
  });

  it("returns nothing for an empty header and survives an unterminated quote", () => {
    expect(parseChallenges("")).toEqual([]);
    expect(parseChallenges('Bearer realm="https://a/token')).toEqual([{ scheme: "bearer", params: { realm: "https://a/token" } }]);
  });
});
