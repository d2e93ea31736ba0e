// The Ed25519 key channel documents are signed with: STRATA_SIGNING_KEY (PEM, PKCS#8) or a file made at first start
// in the data folder (0600). Devices pin its public half (GET /api/device/v1/keys).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { dataDir } from "../config";

export interface SigningKey {
  privateKey: crypto.KeyObject;
  /** PEM, SPKI: what devices pin and `openssl pkeyutl -verify -pubin` reads. */
  publicKeyPem: string;
  /** sha256 of the public key (SPKI DER), hex: changes the documents' ETags when the key changes. */
  fingerprint: string;
}

export function signingKeyPath(): string {
  return process.env.STRATA_SIGNING_KEY_FILE || path.join(dataDir(), "channel-signing-key.pem");
}

function fromPrivatePem(pem: string, where: string): SigningKey {
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${where} is not a PEM private key: ${(err as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== "ed25519") throw new Error(`${where} must be an Ed25519 key (openssl genpkey -algorithm ed25519), not ${privateKey.asymmetricKeyType}.`);
  const publicKey = crypto.createPublicKey(privateKey);
  const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const fingerprint = crypto.createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex");
  return { privateKey, publicKeyPem, fingerprint };
}

let cached: SigningKey | undefined;

/** The process's signing key, read (or made) once. */
export function signingKey(): SigningKey {
  if (cached) return cached;
  if (process.env.STRATA_SIGNING_KEY) return (cached = fromPrivatePem(process.env.STRATA_SIGNING_KEY, "STRATA_SIGNING_KEY"));
  const file = signingKeyPath();
  let pem: string;
  try {
    pem = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const made = crypto.generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    try {
      fs.writeFileSync(file, made, { mode: 0o600, flag: "wx" });
      pem = made;
    } catch (e) {
      // Another process made it first: use theirs, so every process signs with one key.
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      pem = fs.readFileSync(file, "utf8");
    }
  }
  return (cached = fromPrivatePem(pem, file));
}

/** For tests that switch keys. */
export function resetSigningKey(): void {
  cached = undefined;
}

export function sign(body: Uint8Array, key: SigningKey = signingKey()): string {
  return crypto.sign(null, body, key.privateKey).toString("base64");
}
