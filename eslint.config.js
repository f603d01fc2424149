// Lint rules that matter for a daemon (STYLE §7): no promise left unhandled,
// no async function where a callback's result is ignored, type-only imports,
// and no console outside the programs' entry points; typescript-eslint's
// type-checked recommended set over src, tests, bench and examples
// (tsconfig.test.json covers them all), less the rules turned off below.
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["dist/", "node_modules/", "bin/", "scripts/", "eslint.config.js"],
  },
  {
    files: ["src/**/*.ts", "test/**/*.ts", "bench/**/*.ts", "examples/**/*.ts"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        project: "./tsconfig.test.json",
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            {
              from: "package",
              package: "node:test",
              name: ["test", "it", "describe", "suite"],
            },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": "error",
      // A caught error (unknown) is passed on as it came, not wrapped.
      "@typescript-eslint/prefer-promise-reject-errors": [
        "error",
        { allowThrowingUnknown: true },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_" },
      ],
      "no-console": "error",
      // A variable the listeners above read before it is assigned once stays `let`.
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
      // An async function without await is how this code meets a Promise-returning interface (close(), check(), fakes) and turns a throw into a rejection.
      "@typescript-eslint/require-await": "off",
      // Message and config values are JsonValue or unknown by design: String() of them is Python's str() of a scalar, and an object there is already a malformed message.
      "@typescript-eslint/no-base-to-string": "off",
    },
  },
  {
    files: ["src/cli/**", "examples/**", "bench/**", "test/**"],
    rules: { "no-console": "off" },
  },
);
