"use client";

import { useState, type FormEvent } from "react";
import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { Alert } from "../ui/alert";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { useHydrated } from "../ui/use-hydrated";
import { api, ApiError } from "../ui/api";

type FieldErrors = Partial<Record<"email" | "name" | "organisation" | "password", string>>;

export function SignUpForm() {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const input = Object.fromEntries(["email", "name", "organisation", "password"].map((k) => [k, String(form.get(k) ?? "")]));
    setPending(true);
    setError(null);
    setFieldErrors({});
    try {
      await api("/api/v1/sign-up", { body: input });
    } catch (err) {
      setPending(false);
      if (err instanceof ApiError && err.details?.issues) {
        setFieldErrors(Object.fromEntries(err.details.issues.map((i) => [i.path, i.message])));
      }
      setError(err instanceof Error ? err.message : "Sign-up failed.");
      return;
    }
    const result = await signIn("credentials", { email: input.email, password: input.password, redirect: false });
    setPending(false);
    if (result?.ok && !result.error) {
      router.push("/dashboard");
      router.refresh();
    } else {
      router.push("/sign-in?signedUp=1");
    }
  }

  return (
    <form onSubmit={onSubmit} method="post" className="space-y-4" noValidate>
      {/* method=post and a button disabled until hydration: an early click must never put the password in the URL. */}
      {error && <Alert tone="error">{error}</Alert>}
      <Field label="Your name" name="name" autoComplete="name" required error={fieldErrors.name} />
      <Field label="Organisation" name="organisation" autoComplete="organization" required error={fieldErrors.organisation} />
      <Field label="E-mail" name="email" type="email" autoComplete="email" required error={fieldErrors.email} />
      <Field
        label="Password"
        name="password"
        type="password"
        autoComplete="new-password"
        required
        hint="At least 10 characters mixing letters, digits and symbols — or 16+ characters."
        error={fieldErrors.password}
      />
      <Button type="submit" className="w-full" disabled={pending || !hydrated}>
        {pending ? "Creating…" : "Create account"}
      </Button>
    </form>
  );
}
