// fetch for test and bench clients that wait minutes between calls (a VM booting, a build running): a kept-alive
// connection the server closed meanwhile (Node's keep-alive timeout is 5 s) fails before any answer, so the request is
// sent once more, on a new connection. Any other failure, and any answer, is the caller's.

const staleSocket = (err: unknown) => err instanceof TypeError && /other side closed|ECONNRESET|socket/i.test(String((err as Error & { cause?: unknown }).cause));

export async function fetchAgainOnStaleSocket(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (staleSocket(err)) return fetch(url, init);
    throw err;
  }
}
