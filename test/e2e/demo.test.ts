import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { dieWithParent } from "../helpers/daemon.js";
import { REPO, logRecords } from "../helpers/procs.js";

test("e2e/demo - npm run demo moves its files, keeps both logs and says where, and writes nothing on stderr", async (t) => {
  const child = spawn(
    ...dieWithParent(process.execPath, [
      join(REPO, "dist", "examples", "demo.js"),
    ]),
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((r) =>
    child.once("exit", (c) => r(c)),
  );
  t.after(() => (child.exitCode === null ? child.kill("SIGKILL") : undefined));
  assert.equal(code, 0, out + err);
  assert.equal(err, "", "no warnings on stderr");
  assert.match(out, /8\/8 files arrived intact/);
  const m = /logs kept in (\S+): server\.log, client\.log/.exec(out);
  assert.ok(m, out);
  const dir = m[1]!;
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const f of ["server.log", "client.log"])
    assert.ok(existsSync(join(dir, f)), `${f} kept`);
  assert.equal(
    (await logRecords(join(dir, "client.log"))).filter(
      (r) => r["msg"] === "push completed",
    ).length,
    8,
  );
  assert.ok(
    (await logRecords(join(dir, "server.log"))).some(
      (r) => r["msg"] === "server stopped",
    ),
  );
});
