import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { BatchedLines } from "../../../src/util/line-batch.js";
import { REPO } from "../../helpers/procs.js";

test("line-batch: the lines of one turn go out in one write, at the turn's end, in order", async () => {
  const writes: string[] = [];
  const lines = new BatchedLines({ write: (t: string) => writes.push(t) });
  lines.write("a\n");
  lines.write("b\n");
  lines.write("c\n");
  assert.deepEqual(writes, [], "nothing written within the turn");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, ["a\nb\nc\n"]);
  lines.write("d\n");
  lines.flush();
  assert.deepEqual(writes, ["a\nb\nc\n", "d\n"]);
});

test("line-batch: a daemon's last records reach stderr when it exits in the same turn", () => {
  // A process that logs and exits at once (a failed start): its records must not be lost.
  const script = `
    const { createRootLogger } = await import(${JSON.stringify(join(REPO, "dist", "src", "log.js"))});
    const { log } = createRootLogger("t", [{ level: "info", to: "stderr" }]);
    for (let i = 0; i < 3; i++) log.info({ i }, "last words");
    process.exit(3);
  `;
  let stderr = "";
  try {
    execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "ignore", "pipe"],
    });
  } catch (err) {
    stderr = String((err as { stderr: Buffer }).stderr);
    assert.equal((err as { status: number }).status, 3);
  }
  const records = stderr
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { msg: string; i: number });
  assert.deepEqual(
    records.map((r) => [r.msg, r.i]),
    [
      ["last words", 0],
      ["last words", 1],
      ["last words", 2],
    ],
  );
});
