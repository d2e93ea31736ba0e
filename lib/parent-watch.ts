// A child process (the worker, the web server) that outlives whoever started it would go on taking jobs or holding
// its port unseen: when `npm run up`'s tsx wrapper is killed (SIGKILL, OOM), its node child is re-parented, and this
// notices and stops it, so the supervisor's restarted process is the only one.

/**
 * Calls `onGone` once when this process's parent changes (it died and this one was re-parented). Checked every
 * `intervalMs`; the timer does not keep the process alive. Returns the function that stops watching.
 */
export function onParentGone(onGone: () => void, intervalMs = 1_000): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
