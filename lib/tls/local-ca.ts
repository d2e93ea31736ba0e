// A local certificate authority and a localhost certificate, made once into .data/tls/ so the web process can serve HTTPS on a fresh machine.
import fs from "node:fs";
import path from "node:path";
import forge from "node-forge";

export interface TlsMaterial {
  key: string;
  cert: string;
  /** PEM of the CA devices and browsers pin; absent when TLS_CERT/TLS_KEY were given. */
  caPath?: string;
  created: boolean;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

function serial(): string {
  // Positive, 16 random bytes.
  return "01" + forge.util.bytesToHex(forge.random.getBytesSync(15));
}

function makeCa() {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * YEAR_MS);
  const attrs = [
    { name: "commonName", value: "Strata local CA" },
    { name: "organizationName", value: "Strata" },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true, pathLenConstraint: 0 },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { keys, cert };
}

function makeServerCert(ca: { keys: forge.pki.rsa.KeyPair; cert: forge.pki.Certificate }, hosts: string[]) {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  // Browsers refuse leaf certificates valid for more than ~398 days.
  cert.validity.notAfter = new Date(Date.now() + 397 * 24 * 3600 * 1000);
  cert.setSubject([{ name: "commonName", value: hosts[0] }]);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: hosts.map((h) => (/^[\d.]+$/.test(h) || h.includes(":") ? { type: 7, ip: h } : { type: 2, value: h })),
    },
  ]);
  cert.sign(ca.keys.privateKey, forge.md.sha256.create());
  return { keys, cert };
}

/**
 * TLS_CERT/TLS_KEY (paths) win; otherwise the local CA and certificate in `<dataDir>/tls`, made on first call.
 * Extra host names for the certificate come from `hosts` (localhost and 127.0.0.1 are always included).
 */
export function loadOrCreateTls(dataDir: string, hosts: string[] = []): TlsMaterial {
  if (process.env.TLS_CERT || process.env.TLS_KEY) {
    if (!process.env.TLS_CERT || !process.env.TLS_KEY) throw new Error("Set both TLS_CERT and TLS_KEY (paths to PEM files), or neither.");
    return { cert: fs.readFileSync(process.env.TLS_CERT, "utf8"), key: fs.readFileSync(process.env.TLS_KEY, "utf8"), created: false };
  }
  const dir = path.join(dataDir, "tls");
  const files = {
    caCert: path.join(dir, "ca.pem"),
    caKey: path.join(dir, "ca-key.pem"),
    cert: path.join(dir, "server.pem"),
    key: path.join(dir, "server-key.pem"),
  };
  if (fs.existsSync(files.cert) && fs.existsSync(files.key) && fs.existsSync(files.caCert)) {
    return { cert: fs.readFileSync(files.cert, "utf8"), key: fs.readFileSync(files.key, "utf8"), caPath: files.caCert, created: false };
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = makeCa();
  const names = Array.from(new Set(["localhost", "127.0.0.1", "::1", ...hosts]));
  const server = makeServerCert(ca, names);
  fs.writeFileSync(files.caKey, forge.pki.privateKeyToPem(ca.keys.privateKey), { mode: 0o600 });
  fs.writeFileSync(files.caCert, forge.pki.certificateToPem(ca.cert));
  fs.writeFileSync(files.key, forge.pki.privateKeyToPem(server.keys.privateKey), { mode: 0o600 });
  // The chain: leaf then CA, so clients that pin the CA can verify.
  fs.writeFileSync(files.cert, forge.pki.certificateToPem(server.cert) + forge.pki.certificateToPem(ca.cert));
  return { cert: fs.readFileSync(files.cert, "utf8"), key: fs.readFileSync(files.key, "utf8"), caPath: files.caCert, created: true };
}
