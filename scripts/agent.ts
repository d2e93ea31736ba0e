// Entry of the device agent: `npm run agent -- --root … [--once]`, and the file bundleAgent packs for devices.
import { main } from "../lib/agent/cli";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`strata-agent: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
