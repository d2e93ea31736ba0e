import { describe, expect, it } from "vitest";
import { clientAddress } from "./client-address";

describe("the client address for rate limits", () => {
  it("takes the entry the trusted proxy added, not the client-controlled leftmost", () => {
    const headers = new Headers({ "x-forwarded-for": "1.2.3.4, 203.0.113.7" });
    expect(clientAddress(headers, 1)).toBe("203.0.113.7");
    expect(clientAddress({ "x-forwarded-for": "spoofed, 198.51.100.1, 10.0.0.2" }, 2)).toBe("198.51.100.1");
  });

  it("uses the socket address the web server wrote when no proxy is trusted", () => {
    expect(clientAddress({ "x-forwarded-for": "127.0.0.1" }, 0)).toBe("127.0.0.1");
    expect(clientAddress({ "x-forwarded-for": "evil, 127.0.0.1" }, 0)).toBe("127.0.0.1");
  });

  it("falls back to the leftmost entry when fewer proxies added one than are trusted, and to 'unknown' without any", () => {
    expect(clientAddress({ "x-forwarded-for": "203.0.113.9" }, 3)).toBe("203.0.113.9");
    expect(clientAddress({}, 1)).toBe("unknown");
    expect(clientAddress(undefined, 0)).toBe("unknown");
  });
});
