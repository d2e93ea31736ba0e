// The agent as one JavaScript file, served at /api/device/v1/agent.mjs: bundled once per web process on first
// request (esbuild takes well under a second), into the data folder.
import path from "node:path";

export function agentBundleServer(dir: string): () => Promise<string | null> {
  let bundled: Promise<string | null> | undefined;
  return () =>
    (bundled ??= import("../agent/bundle")
      .then(({ bundleAgent }) => bundleAgent(path.join(dir, "strata-agent.mjs")))
      .catch((err) => {
        console.error("[device-api] bundling the agent failed:", err instanceof Error ? err.message : err);
        bundled = undefined;
        return null;
      }));
}
