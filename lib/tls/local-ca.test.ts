import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import https from "node:https";
import { spawnSync } from "node:child_process";
import type { AddressInfo } from "node:net";
import forge from "node-forge";
import { loadOrCreateTls, RENEW_BEFORE_MS } from "./local-ca";

const DAY_MS = 24 * 3600 * 1000;
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "strata-tls-"));
const tlsFile = (dir: string, name: string) => fs.readFileSync(path.join(dir, "tls", name), "utf8");
/** The first certificate of the server chain (the leaf), written alone for openssl. */
function leafFile(dir: string): string {
  const file = path.join(dir, "leaf.pem");
  fs.writeFileSync(file, forge.pki.certificateToPem(forge.pki.certificateFromPem(tlsFile(dir, "server.pem"))));
  return file;
}
function openssl(...args: string[]) {
  const run = spawnSync("openssl", args, { encoding: "utf8" });
  return { ok: run.status === 0, out: run.stdout + run.stderr };
}
const verify = (dir: string, leaf: string) => openssl("verify", "-CAfile", path.join(dir, "tls", "ca.pem"), leaf);
const serialOf = (pem: string) => forge.pki.certificateFromPem(pem).serialNumber;
const sanOf = (pem: string) => openssl("x509", "-noout", "-ext", "subjectAltName", "-in", writeTmp(pem)).out;
function writeTmp(pem: string) {
  const file = path.join(tmpDir(), "c.pem");
  fs.writeFileSync(file, pem);
  return file;
}
function collect() {
  const lines: string[] = [];
  return { lines, log: (m: string) => lines.push(m) };
}

describe("local CA", () => {
  it("makes a CA once and a localhost certificate that verifies against it over real TLS", async () => {
    const dir = tmpDir();
    const first = loadOrCreateTls(dir, [], { log: () => {} });
    expect(first.created).toBe(true);
    const again = loadOrCreateTls(dir, [], { log: () => {} });
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

  it("name-constrains the CA to the hosts it serves, and openssl refuses a certificate it signs for anyone else", () => {
    const dir = tmpDir();
    loadOrCreateTls(dir, ["strata.lan", "10.0.2.2"], { log: () => {} });
    const text = openssl("x509", "-noout", "-text", "-in", path.join(dir, "tls", "ca.pem")).out;
    expect(text).toMatch(/X509v3 Name Constraints: critical\s+Permitted:/);
    for (const name of ["DNS:localhost", "IP:127.0.0.1/255.255.255.255", "DNS:strata.lan", "IP:10.0.2.2/255.255.255.255"]) expect(text).toContain(name);
    expect(text).toMatch(/IP:0:0:0:0:0:0:0:1\/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF/i);

    const ok = verify(dir, leafFile(dir));
    expect(ok.out).toMatch(/: OK/);

    // Someone holding the CA key signs for a site it does not serve: the constraint makes the certificate worthless.
    const caCert = forge.pki.certificateFromPem(tlsFile(dir, "ca.pem"));
    const caKey = forge.pki.privateKeyFromPem(tlsFile(dir, "ca-key.pem")) as forge.pki.rsa.PrivateKey;
    const forged = forge.pki.createCertificate();
    forged.publicKey = forge.pki.setRsaPublicKey(caKey.n, caKey.e);
    forged.serialNumber = "0123";
    forged.validity.notBefore = new Date(Date.now() - 60_000);
    forged.validity.notAfter = new Date(Date.now() + 30 * DAY_MS);
    forged.setSubject([{ name: "commonName", value: "bank.example" }]);
    forged.setIssuer(caCert.subject.attributes);
    forged.setExtensions([{ name: "subjectAltName", altNames: [{ type: 2, value: "bank.example" }] }]);
    forged.sign(caKey, forge.md.sha256.create());
    const refused = verify(dir, writeTmp(forge.pki.certificateToPem(forged)));
    expect(refused.ok).toBe(false);
    expect(refused.out).toMatch(/permitted subtree violation/);
  }, 30_000);

  it("renews the server certificate within 30 days of its end, with the same CA", () => {
    const dir = tmpDir();
    const start = new Date();
    const first = loadOrCreateTls(dir, [], { log: () => {}, now: start });
    const ca = tlsFile(dir, "ca.pem");
    const end = forge.pki.certificateFromPem(first.cert).validity.notAfter.getTime();

    const early = collect();
    const notYet = loadOrCreateTls(dir, [], { ...early, now: new Date(end - RENEW_BEFORE_MS - DAY_MS) });
    expect(notYet.created).toBe(false);
    expect(serialOf(notYet.cert)).toBe(serialOf(first.cert));
    expect(early.lines).toEqual([]);

    const late = collect();
    const renewed = loadOrCreateTls(dir, [], { ...late, now: new Date(end - RENEW_BEFORE_MS + DAY_MS) });
    expect(renewed.created).toBe(true);
    expect(serialOf(renewed.cert)).not.toBe(serialOf(first.cert));
    expect(forge.pki.certificateFromPem(renewed.cert).validity.notAfter.getTime()).toBeGreaterThan(end);
    expect(tlsFile(dir, "ca.pem")).toBe(ca);
    expect(late.lines.join("\n")).toMatch(/the server certificate ends on \d{4}-\d\d-\d\d; renewed it/);
  }, 30_000);

  it("re-issues the server certificate when TLS_HOSTS changes, and re-creates the CA (saying so) for a host outside its constraints", () => {
    const dir = tmpDir();
    loadOrCreateTls(dir, ["strata.lan"], { log: () => {} });
    const ca = tlsFile(dir, "ca.pem");

    // Below a permitted name: the CA may sign for it, so only the server certificate changes.
    const inside = collect();
    const moved = loadOrCreateTls(dir, ["portal.strata.lan"], inside);
    expect(moved.created).toBe(true);
    expect(tlsFile(dir, "ca.pem")).toBe(ca);
    expect(sanOf(moved.cert)).toContain("DNS:portal.strata.lan");
    expect(sanOf(moved.cert)).not.toContain("DNS:strata.lan,");
    expect(inside.lines.join("\n")).toMatch(/was made for localhost, 127\.0\.0\.1, .*strata\.lan; re-issued it/);
    expect(verify(dir, leafFile(dir)).out).toMatch(/: OK/);

    // The same hosts again (other spelling of ::1): nothing to do.
    expect(loadOrCreateTls(dir, ["PORTAL.strata.lan", "0:0:0:0:0:0:0:1"], { log: () => {} }).created).toBe(false);

    const outside = collect();
    const widened = loadOrCreateTls(dir, ["portal.strata.lan", "10.0.2.2"], outside);
    expect(widened.created).toBe(true);
    expect(tlsFile(dir, "ca.pem")).not.toBe(ca);
    expect(outside.lines.join("\n")).toMatch(/TLS_HOSTS now includes 10\.0\.2\.2, outside the names the local CA may sign for .*; made a new CA .*must be given this one/);
    expect(sanOf(widened.cert)).toContain("IP Address:10.0.2.2");
    expect(verify(dir, leafFile(dir)).out).toMatch(/: OK/);
  }, 30_000);

  it("keeps a CA made before name constraints (devices pin it) and says how to replace it", () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, "tls"), { recursive: true });
    const keys = forge.pki.rsa.generateKeyPair(2048);
    const old = forge.pki.createCertificate();
    old.publicKey = keys.publicKey;
    old.serialNumber = "01";
    old.validity.notBefore = new Date(Date.now() - DAY_MS);
    old.validity.notAfter = new Date(Date.now() + 3650 * DAY_MS);
    old.setSubject([{ name: "commonName", value: "Strata local CA" }]);
    old.setIssuer([{ name: "commonName", value: "Strata local CA" }]);
    old.setExtensions([{ name: "basicConstraints", cA: true, critical: true }, { name: "keyUsage", keyCertSign: true, critical: true }]);
    old.sign(keys.privateKey, forge.md.sha256.create());
    const oldPem = forge.pki.certificateToPem(old);
    fs.writeFileSync(path.join(dir, "tls", "ca.pem"), oldPem);
    fs.writeFileSync(path.join(dir, "tls", "ca-key.pem"), forge.pki.privateKeyToPem(keys.privateKey));

    const out = collect();
    loadOrCreateTls(dir, [], out);
    expect(tlsFile(dir, "ca.pem")).toBe(oldPem);
    expect(out.lines.join("\n")).toMatch(/predates name constraints and may sign for any host; delete .* to make a constrained one/);
    expect(verify(dir, leafFile(dir)).out).toMatch(/: OK/);
  }, 30_000);
});
