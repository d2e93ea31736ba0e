// A local certificate authority and a server certificate in .data/tls/, so the web process can serve HTTPS on a fresh
// machine. The CA is name-constrained to the hosts it serves (a leaked CA key cannot sign for anyone else's site), the
// server certificate is renewed before it expires and re-issued when TLS_HOSTS changes.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import forge from "node-forge";

export interface TlsMaterial {
  key: string;
  cert: string;
  /** PEM of the CA devices and browsers pin; absent when TLS_CERT/TLS_KEY were given. */
  caPath?: string;
  /** Whether anything was made or replaced by this call. */
  created: boolean;
}

export interface TlsOptions {
  /** Where to say what was made and why; console.log with a [tls] prefix by default. */
  log?: (msg: string) => void;
  /** The current time (tests look ahead to expiry). */
  now?: Date;
}

const DAY_MS = 24 * 3600 * 1000;
const YEAR_MS = 365 * DAY_MS;
/** Browsers refuse leaf certificates valid for more than ~398 days. */
const SERVER_VALIDITY_MS = 397 * DAY_MS;
/** A certificate this close to its end is replaced at start (and by the web process's daily check). */
export const RENEW_BEFORE_MS = 30 * DAY_MS;
/** Always served, whatever TLS_HOSTS says. */
const DEFAULT_HOSTS = ["localhost", "127.0.0.1", "::1"];
const NAME_CONSTRAINTS_OID = "2.5.29.30";

interface Ca {
  keys: { privateKey: forge.pki.rsa.PrivateKey };
  cert: forge.pki.Certificate;
}

// node-forge has these; its type definitions do not.
const ipUtil = forge.util as typeof forge.util & { bytesFromIP(ip: string): string | null; bytesToIP(bytes: string): string };
/** An IP address as its bytes, so `::1` and `0:0:0:0:0:0:0:1` compare equal. */
const ipBytes = (ip: string) => ipUtil.bytesFromIP(ip) ?? "";

function serial(): string {
  // Positive, 16 random bytes.
  return "01" + forge.util.bytesToHex(forge.random.getBytesSync(15));
}

/** Host names lower-cased, IP addresses in one spelling, without repeats; the defaults first. */
export function servedHosts(extra: string[]): string[] {
  const out: string[] = [];
  for (const raw of [...DEFAULT_HOSTS, ...extra]) {
    const host = raw.trim().toLowerCase().replace(/^\[|\]$/g, "");
    if (!host) continue;
    const key = net.isIP(host) ? ipBytes(host) : host;
    if (!out.some((h) => (net.isIP(h) ? ipBytes(h) : h) === key)) out.push(host);
  }
  return out;
}

/** NameConstraints (RFC 5280 4.2.1.10): permitted dNSName and iPAddress (a /32 or /128 each) subtrees. */
function nameConstraintsValue(hosts: string[]): forge.asn1.Asn1 {
  const { asn1 } = forge;
  const subtrees = hosts.map((host) => {
    const base = net.isIP(host)
      ? asn1.create(asn1.Class.CONTEXT_SPECIFIC, 7, false, ipBytes(host) + (net.isIPv4(host) ? "\xff".repeat(4) : "\xff".repeat(16)))
      : asn1.create(asn1.Class.CONTEXT_SPECIFIC, 2, false, host);
    return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [base]);
  });
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, subtrees)]);
}

/** The hosts a CA may sign for, from its nameConstraints; null when it has none (a CA made before they were added). */
function permittedHosts(ca: forge.pki.Certificate): string[] | null {
  const ext = ca.extensions.find((e) => e.id === NAME_CONSTRAINTS_OID) as { permittedSubtrees?: Array<{ type: number; value: string }> } | undefined;
  if (!ext?.permittedSubtrees) return null;
  return ext.permittedSubtrees.flatMap((t) => {
    if (t.type === 2) return [t.value.toLowerCase()];
    if (t.type === 7) return [ipUtil.bytesToIP(t.value.slice(0, t.value.length / 2))];
    return [];
  });
}

function covers(permitted: string[], host: string): boolean {
  if (net.isIP(host)) {
    const bytes = ipBytes(host);
    return permitted.some((p) => net.isIP(p) && ipBytes(p) === bytes);
  }
  // A dNSName constraint covers the name and every name below it.
  return permitted.some((p) => !net.isIP(p) && (host === p || host.endsWith(`.${p}`)));
}

/** The host names and addresses a server certificate was made for, from its subjectAltName. */
function certificateHosts(cert: forge.pki.Certificate): string[] {
  const san = cert.getExtension("subjectAltName") as { altNames?: Array<{ type: number; value?: string; ip?: string }> } | null;
  return (san?.altNames ?? []).map((n) => (n.type === 7 ? (n.ip ?? "") : (n.value ?? "").toLowerCase()));
}


function makeCa(hosts: string[], now: Date): Ca {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + 10 * YEAR_MS);
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
    // Critical: a client that cannot read the constraints must not trust the CA for everything instead.
    { id: NAME_CONSTRAINTS_OID, name: "nameConstraints", critical: true, value: nameConstraintsValue(hosts) },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { keys, cert };
}

function makeServerCert(ca: Ca, hosts: string[], now: Date) {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + SERVER_VALIDITY_MS);
  cert.setSubject([{ name: "commonName", value: hosts[0] }]);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames: hosts.map((h) => (net.isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
  ]);
  cert.sign(ca.keys.privateKey, forge.md.sha256.create());
  return { keys, cert };
}

/** Writes next to the target, then renames: a reader (up.ts and web.ts both load) never sees half a file. */
function writeAtomic(file: string, content: string, mode?: number) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, mode === undefined ? undefined : { mode });
  fs.renameSync(tmp, file);
}

function readPem<T>(file: string, parse: (pem: string) => T): T | null {
  try {
    return parse(fs.readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}

/**
 * TLS_CERT/TLS_KEY (paths) win; otherwise the local CA and server certificate in `<dataDir>/tls`, made when missing.
 * Extra host names for the certificate come from `hosts` (TLS_HOSTS; localhost, 127.0.0.1 and ::1 are always served).
 * The server certificate is re-issued when it is within RENEW_BEFORE_MS of its end or was made for other hosts; the CA
 * is re-created (and says so) when it is near its end or a host lies outside its name constraints.
 */
export function loadOrCreateTls(dataDir: string, hosts: string[] = [], options: TlsOptions = {}): TlsMaterial {
  if (process.env.TLS_CERT || process.env.TLS_KEY) {
    if (!process.env.TLS_CERT || !process.env.TLS_KEY) throw new Error("Set both TLS_CERT and TLS_KEY (paths to PEM files), or neither.");
    return { cert: fs.readFileSync(process.env.TLS_CERT, "utf8"), key: fs.readFileSync(process.env.TLS_KEY, "utf8"), created: false };
  }
  const log = options.log ?? ((msg: string) => console.log(`[tls] ${msg}`));
  const now = options.now ?? new Date();
  const names = servedHosts(hosts);
  const dir = path.join(dataDir, "tls");
  const files = {
    caCert: path.join(dir, "ca.pem"),
    caKey: path.join(dir, "ca-key.pem"),
    cert: path.join(dir, "server.pem"),
    key: path.join(dir, "server-key.pem"),
  };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const nearEnd = (cert: forge.pki.Certificate) => cert.validity.notAfter.getTime() - now.getTime() < RENEW_BEFORE_MS;

  // The CA.
  let ca: Ca | null = null;
  let caReason: string | null = null;
  const caCert = readPem(files.caCert, forge.pki.certificateFromPem);
  const caKey = readPem(files.caKey, forge.pki.privateKeyFromPem);
  if (!caCert || !caKey) caReason = "made a local CA";
  else if (nearEnd(caCert)) caReason = `the local CA ends on ${caCert.validity.notAfter.toISOString().slice(0, 10)}; made a new one`;
  else {
    const permitted = permittedHosts(caCert);
    const outside = permitted ? names.filter((h) => !covers(permitted, h)) : [];
    if (outside.length) {
      caReason = `TLS_HOSTS now includes ${outside.join(", ")}, outside the names the local CA may sign for (${permitted!.join(", ")}); made a new CA`;
    } else {
      ca = { keys: { privateKey: caKey }, cert: caCert };
      // Kept rather than replaced: devices pin this CA, and a new one would cut them off until they are re-provisioned.
      if (!permitted) log(`the local CA in ${files.caCert} predates name constraints and may sign for any host; delete ${dir} to make a constrained one (devices that pin it must then be given the new CA)`);
    }
  }
  if (!ca) {
    ca = makeCa(names, now);
    writeAtomic(files.caKey, forge.pki.privateKeyToPem(ca.keys.privateKey), 0o600);
    writeAtomic(files.caCert, forge.pki.certificateToPem(ca.cert));
    const replaced = caCert && caKey;
    log(`${caReason} for ${names.join(", ")} in ${files.caCert}${replaced ? " — browsers and devices that trusted the old CA must be given this one" : ""}`);
  }

  // The server certificate.
  let serverReason: string | null = null;
  const serverCert = readPem(files.cert, forge.pki.certificateFromPem);
  const serverKey = fs.existsSync(files.key);
  if (!serverCert || !serverKey) serverReason = "made the server certificate";
  else if (caReason) serverReason = "re-issued the server certificate with the new CA";
  else if (nearEnd(serverCert)) serverReason = `the server certificate ends on ${serverCert.validity.notAfter.toISOString().slice(0, 10)}; renewed it`;
  else if (!sameHostSet(certificateHosts(serverCert), names)) serverReason = `the server certificate was made for ${certificateHosts(serverCert).join(", ")}; re-issued it`;
  else if (!issuedBy(ca.cert, serverCert)) serverReason = "the server certificate was not issued by the local CA; re-issued it";

  if (serverReason) {
    const server = makeServerCert(ca, names, now);
    writeAtomic(files.key, forge.pki.privateKeyToPem(server.keys.privateKey), 0o600);
    // The chain: leaf then CA, so clients that pin the CA can verify.
    writeAtomic(files.cert, forge.pki.certificateToPem(server.cert) + forge.pki.certificateToPem(ca.cert));
    log(`${serverReason} for ${names.join(", ")}, valid until ${server.cert.validity.notAfter.toISOString().slice(0, 10)}`);
  }
  return { cert: fs.readFileSync(files.cert, "utf8"), key: fs.readFileSync(files.key, "utf8"), caPath: files.caCert, created: Boolean(caReason || serverReason) };
}

function sameHostSet(a: string[], b: string[]): boolean {
  const x = servedHosts(a);
  const y = servedHosts(b);
  return x.length === y.length && x.every((h) => servedHosts([...y, h]).length === y.length);
}

function issuedBy(ca: forge.pki.Certificate, cert: forge.pki.Certificate): boolean {
  try {
    return ca.verify(cert);
  } catch {
    return false;
  }
}
