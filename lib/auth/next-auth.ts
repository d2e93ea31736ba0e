// next-auth configuration: credentials (argon2id hashes in our users table) and an optional OIDC provider, JWT sessions.
import type { NextAuthOptions, User as NextAuthUser } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { eq } from "drizzle-orm";
import { getDb } from "../db";
import { orgs, users } from "../db/schema";
import { authSecret, config } from "../config";
import { DomainError } from "../errors";
import { checkCredentials } from "./sign-in";
import { slugify } from "./sign-up";

function clientAddress(headers: Record<string, unknown> | undefined): string {
  // The web server sets x-forwarded-for from the socket unless TRUST_PROXY is on, so this cannot be spoofed by default.
  const forwarded = headers?.["x-forwarded-for"];
  const first = (Array.isArray(forwarded) ? forwarded[0] : String(forwarded ?? "")).split(",")[0]?.trim();
  return first || "unknown";
}

function oidcProvider(): NextAuthOptions["providers"][number] | null {
  const issuer = process.env.OIDC_ISSUER;
  if (!issuer || !process.env.OIDC_CLIENT_ID || !process.env.OIDC_CLIENT_SECRET) return null;
  return {
    id: "oidc",
    name: process.env.OIDC_NAME || "Single sign-on",
    type: "oauth",
    wellKnown: `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`,
    clientId: process.env.OIDC_CLIENT_ID,
    clientSecret: process.env.OIDC_CLIENT_SECRET,
    authorization: { params: { scope: "openid email profile" } },
    idToken: true,
    checks: ["pkce", "state"],
    profile(profile: { sub: string; email?: string; name?: string }) {
      return { id: profile.sub, email: profile.email?.toLowerCase() ?? null, name: profile.name ?? profile.email ?? profile.sub };
    },
  };
}

export const oidcEnabled = () => oidcProvider() !== null;

/** First OIDC sign-in of an e-mail creates its own organisation, like a sign-up. */
async function userIdForOidc(email: string, name: string): Promise<string> {
  const db = getDb();
  const [existing] = await db.select({ id: users.id }).from(users).where(eq(users.email, email));
  if (existing) return existing.id;
  return db.transaction(async (tx) => {
    const [org] = await tx
      .insert(orgs)
      .values({ name: `${name}'s organisation`, slug: `${slugify(email.split("@")[0] ?? "org")}-${Math.random().toString(36).slice(2, 6)}` })
      .returning();
    const [user] = await tx.insert(users).values({ orgId: org.id, email, name, role: "customer" }).returning();
    return user.id;
  });
}

export function authOptions(): NextAuthOptions {
  const providers: NextAuthOptions["providers"] = [
    CredentialsProvider({
      id: "credentials",
      name: "E-mail and password",
      credentials: { email: { label: "E-mail", type: "email" }, password: { label: "Password", type: "password" } },
      async authorize(credentials, req) {
        try {
          const result = await checkCredentials(getDb(), credentials?.email, credentials?.password, clientAddress(req?.headers as Record<string, unknown>));
          if (!result.ok) throw new Error(result.reason);
          return { id: result.userId } satisfies NextAuthUser;
        } catch (err) {
          // next-auth passes an Error's message to the sign-in form.
          if (err instanceof DomainError) throw new Error(err.message);
          throw err;
        }
      },
    }),
  ];
  const oidc = oidcProvider();
  if (oidc) providers.push(oidc);

  return {
    secret: authSecret(),
    session: { strategy: "jwt", maxAge: 7 * 24 * 3600 },
    useSecureCookies: config.publicUrl.startsWith("https://"),
    pages: { signIn: "/sign-in" },
    providers,
    callbacks: {
      async signIn({ user, account }) {
        if (account?.provider === "oidc") {
          if (!user.email) return "/sign-in?error=OIDC+account+has+no+e-mail";
          user.id = await userIdForOidc(user.email, user.name ?? user.email);
        }
        return true;
      },
      async jwt({ token, user }) {
        // Only the user id goes into the token; role and organisation are read fresh on every request.
        if (user) token.sub = user.id;
        return token;
      },
      async session({ session, token }) {
        return { ...session, userId: token.sub };
      },
    },
  };
}
