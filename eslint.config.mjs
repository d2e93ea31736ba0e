// ESLint (flat config): Next's rules (React, hooks, accessibility, Core Web Vitals) plus typescript-eslint's recommended
// rules, over the web app, the workers, the scripts, the benchmarks and the Playwright specs. `npm run lint`; `npm test`
// runs it with the type check and fails on any finding, warnings included (`--max-warnings=0`).
import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTypescript from "eslint-config-next/typescript";

export default defineConfig([
  ...nextVitals,
  ...nextTypescript,
  {
    rules: {
      // Narrowed, not off: a leading underscore is how this code says "deliberately unused" — an argument a signature
      // requires, or a key taken out of an object so that the rest can be returned without it
      // (`const { token: _secret, ...row } = created`); typescript-eslint's default flags those too.
      "@typescript-eslint/no-unused-vars": [
        "warn",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Off under app/ only: everything there is a Server Component (client components live in components/), rendered
    // once per request and never re-rendered, so `Date.now()` in it is the request's time, not a value that changes
    // between renders. The rule stays on for components/, where it matters.
    files: ["app/**/*.tsx"],
    rules: { "react-hooks/purity": "off" },
  },
  {
    // Tests read the JSON the API answered with and check it field by field with expect(); an `any` there is checked by
    // those assertions, while a declared type would only repeat the schema under test. Production code keeps the rule.
    files: ["**/*.test.ts", "playwright/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  globalIgnores([".next/**", ".data/**", "node_modules/**", "next-env.d.ts", "lib/api/client.generated.ts"]),
]);
