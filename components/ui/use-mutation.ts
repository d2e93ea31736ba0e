// One request at a time from a panel of forms: which action is running, its error (for ProblemAlert) or success
// line, and a refresh of the server components once it went through.
import { useState } from "react";
import { useRouter } from "next/navigation";
import { issuesOf } from "./problem";

export function useMutation() {
  const router = useRouter();
  const [pending, setPending] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  /** Runs `call` as action `key`; on success shows `success` (when given) and refreshes. Resolves to the result, or undefined when it failed. */
  async function run<T>(key: string, call: () => Promise<T>, success?: string | ((result: T) => string)): Promise<T | undefined> {
    setPending(key);
    setError(null);
    setDone(null);
    try {
      const result = await call();
      if (success) setDone(typeof success === "function" ? success(result) : success);
      router.refresh();
      return result;
    } catch (err) {
      setError(err);
      return undefined;
    } finally {
      setPending(null);
    }
  }

  /** The server's message for one field of the last failed request, for a Field's `error`. */
  const fieldError = (field: string) => issuesOf(error).find((i) => i.path === field)?.message;

  return { run, pending, error, done, fieldError };
}

/** A number input's value: undefined when left empty, so optional fields can be left out of the body. */
export function optionalNumber(form: FormData, name: string): number | undefined {
  const raw = String(form.get(name) ?? "").trim();
  return raw === "" ? undefined : Number(raw);
}
