import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { REPO } from "../helpers/procs.js";

const run = promisify(execFile);

test("package - npm pack ships the library and commands, not the bench, the demo or the tests", async () => {
  // The test build has just written dist/bench, dist/examples and dist/test beside dist/src.
  const { stdout } = await run(
    "npm",
    ["pack", "--dry-run", "--ignore-scripts", "--json"],
    { cwd: REPO, maxBuffer: 16 << 20 },
  );
  const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[];
  const paths = pack!.files.map((f) => f.path);
  assert.ok(
    paths.includes("dist/src/index.js"),
    "the library entry is shipped",
  );
  assert.ok(
    paths.includes("bin/move_it_server.js"),
    "the commands are shipped",
  );
  const strays = paths.filter(
    (p) =>
      /^(bench|examples|test|dist\/(bench|examples|test))\//.test(p) ||
      p.startsWith("src/"),
  );
  assert.deepEqual(strays, []);
});
