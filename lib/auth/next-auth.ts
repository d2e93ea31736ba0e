// next-auth configuration: credentials (argon2id hashes in our users table) and an optional OIDC provider, JWT sessions.
import type { NextAuthOptions, User as NextAuthUser } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { getDb } from "../db";
import { authSecret, config } from "../config";
import { DomainError } from "../errors";
import { safeCallbackPath } from "./callback-url";
import { clientAddress } from "./client-address";
import { userForOidcIdentity } from "./oidc";
import { checkCredentials } from "./sign-in";

const oidcIssuer = () => process.env.OIDC_ISSUER?.trim().replace(/\/$/, "") || null;

function oidcProvider(): NextAuthOptions["providers"][number] | null {
  const issuer = oidcIssuer();
  if (!issuer || !process.env.OIDC_CLIENT_ID || !process.env.OIDC_CLIENT_SECRET) return null;
  return {
    id: "oidc",
    name: process.env.OIDC_NAME || "Single sign-on",
    type: "oauth",
    wellKnown: `${issuer}/.well-known/openid-configuration`,
    clientId: process.env.OIDC_CLIENT_ID,
    clientSecret: process.env.OIDC_CLIENT_SECRET,
    authorization: { params: { scope: "openid email profile" } },
    idToken: true,
    checks: ["pkce", "state", "nonce"],
    profile(profile: { sub: string; email?: string; name?: string }) {
      return { id: profile.sub, email: profile.email?.toLowerCase() ?? null, name: profile.name ?? profile.email ?? profile.sub };
    },
  };
}

export const oidcEnabled = () => oidcProvider() !== null;
/** The name on the sign-in page's single sign-on button, or undefined when OIDC is not configured. */
export const oidcDisplayName = () => (oidcEnabled() ? process.env.OIDC_NAME || "single sign-on" : undefined);

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
    // next-auth's own errors (provider unreachable, a refused callback) land on the sign-in page with a code it knows.
    pages: { signIn: "/sign-in", error: "/sign-in" },
    providers,
    callbacks: {
      async signIn({ user, account, profile }) {
        if (account?.provider === "oidc") {
          // The raw claims of the ID token, checked by openid-client (signature, issuer, audience, nonce).
          const claims = (profile ?? {}) as { iss?: unknown; sub?: unknown; email?: unknown; email_verified?: unknown; name?: unknown };
          const outcome = await userForOidcIdentity(getDb(), {
            issuer: typeof claims.iss === "string" ? claims.iss : oidcIssuer()!,
            subject: typeof claims.sub === "string" ? claims.sub : account.providerAccountId,
            email: typeof claims.email === "string" ? claims.email : null,
            emailVerified: claims.email_verified,
            name: typeof claims.name === "string" ? claims.name : null,
          });
          if (!outcome.ok) return `/sign-in?error=${outcome.code}`;
          user.id = outcome.userId;
        }
        return true;
      },
      async redirect({ url, baseUrl }) {
        // Only pages of this site, whatever callbackUrl a link carried.
        return `${baseUrl}${safeCallbackPath(url, { origin: baseUrl })}`;
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
