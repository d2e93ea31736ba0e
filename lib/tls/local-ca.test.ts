import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { loadOrCreateTls } from "./local-ca";

describe("local CA", () => {
  it("makes a CA once and a localhost certificate that verifies against it over real TLS", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-tls-"));
    const first = loadOrCreateTls(dir);
    expect(first.created).toBe(true);
    const again = loadOrCreateTls(dir);
    expect(again.created).toBe(false);
    expect(again.cert).toBe(first.cert);

    const server = https.createServer({ key: first.key, cert: first.cert }, (_req, res) => res.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: "127.0.0.1", port, servername: "localhost", ca: fs.readFileSync(first.caPath!) }, (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve(text));
        })
        .on("error", reject);
    });
    server.close();
    expect(body).toBe("ok");
  }, 30_000);
});
