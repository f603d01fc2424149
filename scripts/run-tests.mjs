// Runs every compiled test file with node's own runner (TAP on stdout).
// A list of files or directories on the command line narrows the run.
// Files run concurrently, one process each (TEST_CONCURRENCY, default: the
// number of cores, at least 2): tests use ephemeral ports and temp dirs only.
// The timeout also bounds each file as a whole, which on a loaded machine
// takes a few times longer than alone.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";

function collect(path, out) {
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path).sort())
      collect(join(path, entry), out);
  } else if (path.endsWith(".test.js")) {
    out.push(path);
  }
  return out;
}

const roots = process.argv.slice(2);
const files = (roots.length > 0 ? roots : ["dist/test"]).flatMap((r) =>
  collect(r, []),
);
if (files.length === 0) {
  console.error("no test files found: run `npm run build:test` first");
  process.exit(1);
}
const concurrency = Number(
  process.env.TEST_CONCURRENCY ?? Math.max(2, availableParallelism()),
);
const args = [
  "--test",
  "--test-reporter=tap",
  "--test-timeout=300000",
  `--test-concurrency=${concurrency}`,
  ...files,
];
const result = spawnSync(process.execPath, args, { stdio: "inherit" });
process.exit(result.status ?? 1);
