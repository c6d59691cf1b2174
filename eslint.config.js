// eslint over the JavaScript meltica-lab runs in V8 (meltica_lab/jshost/js), run by `make test`.
// Each file is one part of a host script: scripts.py wraps the files of a host in one strict
// function that provides `M`, the host's private namespace (see meltica_lab/jshost/scripts.py).
const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  {
    files: ["meltica_lab/jshost/js/**/*.js"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2025,
      sourceType: "script",
      globals: { ...globals.es2021, M: "readonly" },
    },
    rules: {
      ...js.configs.recommended.rules,
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }],
      eqeqeq: "error",
      "no-var": "error",
      "prefer-const": "error",
      strict: ["error", "never"],
    },
  },
];
