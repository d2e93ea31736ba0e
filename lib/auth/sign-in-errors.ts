// What the sign-in page says for an `?error=` code. Only known codes are shown (with text written here): the page
// never echoes text from its URL, so a crafted link cannot put words of an attacker's choosing on it.

export const SIGN_IN_ERRORS = {
  OidcUnverified:
    "Your identity provider has not verified this e-mail address, so Strata cannot create an account for it. Verify the address with your provider, then sign in again.",
  OidcNoEmail: "Your identity provider did not share an e-mail address. Allow Strata to read your e-mail address, then sign in again.",
  OidcEmailTaken:
    "An account with this e-mail already exists; sign in with your password. Strata does not link single sign-on to an existing account: ask your administrator if you need both.",
  OAuthSignin: "Could not reach the identity provider. Try again, or sign in with your password.",
  OAuthCallback: "The identity provider's answer could not be checked. Try again, or sign in with your password.",
  OAuthAccountNotLinked: "An account with this e-mail already exists; sign in with your password.",
  AccessDenied: "Sign-in was refused.",
  SessionRequired: "Sign in to see that page.",
} as const;

export type SignInErrorCode = keyof typeof SIGN_IN_ERRORS;

/** The message for an error code from the URL; unknown codes get a generic line, never the code itself. */
export function signInErrorMessage(code: string | null): string | null {
  if (!code || code === "CredentialsSignin") return null;
  return (SIGN_IN_ERRORS as Record<string, string>)[code] ?? "Sign-in failed. Try again, or sign in with your password.";
}
