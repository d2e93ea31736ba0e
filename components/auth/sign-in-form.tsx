"use client";

import { useState, type FormEvent } from "react";
import { signIn } from "next-auth/react";
import { useRouter, useSearchParams } from "next/navigation";
import { Alert } from "../ui/alert";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { useHydrated } from "../ui/use-hydrated";
import { safeCallbackPath } from "@/lib/auth/callback-url";
import { signInErrorMessage } from "@/lib/auth/sign-in-errors";

export function SignInForm({ oidcName }: { oidcName?: string }) {
  const router = useRouter();
  const params = useSearchParams();
  // Error codes from the URL map to messages written here; the URL's text itself is never shown.
  const [error, setError] = useState<string | null>(signInErrorMessage(params.get("error")));
  // Where to go next: a path on this site only (a link's callbackUrl could name another one).
  const next = safeCallbackPath(params.get("callbackUrl"), { origin: typeof window === "undefined" ? undefined : window.location.origin });
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    const result = await signIn("credentials", { email: form.get("email"), password: form.get("password"), redirect: false });
    setPending(false);
    if (!result || result.error) {
      setError(!result || result.error === "CredentialsSignin" ? "Wrong e-mail or password." : result.error);
      return;
    }
    router.push(next);
    router.refresh();
  }

  return (
    <form onSubmit={onSubmit} method="post" className="space-y-4" noValidate>
      {/* method=post and a button disabled until hydration: an early click must never put the password in the URL. */}
      {error && <Alert tone="error">{error}</Alert>}
      {params.get("signedUp") && !error && <Alert tone="success">Your organisation is ready. Sign in to continue.</Alert>}
      <Field label="E-mail" name="email" type="email" autoComplete="email" required />
      <Field label="Password" name="password" type="password" autoComplete="current-password" required />
      <Button type="submit" className="w-full" disabled={pending || !hydrated}>
        {pending ? "Signing in…" : "Sign in"}
      </Button>
      {oidcName && (
        <Button type="button" variant="secondary" className="w-full" onClick={() => signIn("oidc", { callbackUrl: next })}>
          Continue with {oidcName}
        </Button>
      )}
    </form>
  );
}
