// Password hashing (argon2id) and the strength rule shared by sign-up and the admin seed.
import { hash, verify } from "@node-rs/argon2";

const OPTIONS = { algorithm: 2 /* Argon2id; the enum is a const enum */, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string) => hash(password, OPTIONS);

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

// A fixed hash to verify against when the account does not exist, so timing does not tell which e-mails are registered.
let dummyHash: Promise<string> | undefined;
export function verifyAgainstDummy(password: string) {
  dummyHash ??= hashPassword("strata-dummy-password-for-timing");
  return dummyHash.then((h) => verifyPassword(h, password));
}

/** Returns why a password is too weak, or null when it is acceptable. */
export function passwordWeakness(password: string, email?: string): string | null {
  if (password.length < 10) return "Password must be at least 10 characters long.";
  if (password.length > 256) return "Password must be at most 256 characters long.";
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (password.length < 16 && classes < 3)
    return "Password must mix at least three of: lower-case, upper-case, digits, symbols (or be 16+ characters).";
  if (/^(.)\1+$/.test(password)) return "Password must not repeat one character.";
  const local = email?.split("@")[0]?.toLowerCase();
  if (local && local.length >= 4 && password.toLowerCase().includes(local)) return "Password must not contain your e-mail name.";
  return null;
}
