// Calls the portal's own REST API from client components and turns `{error:{message}}` into a thrown Error with that message.
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly details?: { issues?: Array<{ path: string; message: string; line?: number }> },
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? (init.body === undefined ? "GET" : "POST");
  const res = await fetch(path, {
    method,
    // Every write says JSON, an empty one too (cancel, retry, approve): the API refuses other cookie-signed writes (CSRF).
    headers: method === "GET" || method === "HEAD" ? undefined : { "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (res.status === 204) return undefined as T;
  const payload = await res.json().catch(() => null);
  if (!res.ok) {
    const error = payload?.error;
    throw new ApiError(error?.message ?? `The server answered ${res.status}.`, res.status, error?.code ?? "unknown", error?.details);
  }
  return payload as T;
}
