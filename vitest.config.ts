import { defineConfig } from "vitest/config";
import path from "node:path";

const alias = { "@": path.resolve(import.meta.dirname) };

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: "unit",
          include: ["lib/**/*.test.ts", "workers/**/*.test.ts", "scripts/**/*.test.ts", "components/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "**/*.boot.test.ts", "node_modules/**"],
          environment: "node",
        },
      },
      {
        resolve: { alias },
        test: {
          name: "integration",
          include: ["lib/**/*.int.test.ts", "workers/**/*.int.test.ts", "app/**/*.int.test.ts"],
          environment: "node",
          // One embedded PostgreSQL (and, for build tests, dockerd + registry) for the whole run.
          globalSetup: ["./lib/testing/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        resolve: { alias },
        test: {
          // Boot tests: a disk image booted in QEMU, against the stack scripts/test.ts starts (`npm test -- boot`).
          name: "boot",
          include: ["lib/**/*.boot.test.ts"],
          environment: "node",
          testTimeout: 3_600_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
