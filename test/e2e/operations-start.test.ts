/**
 * The commands' operations interface at start: ports in use, unknown options, the state directory, running unprivileged,
 * the Python command names and the systemd units (apart from operations-cli: see there).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import {
  VERSION,
  exitOf,
  occupied,
  serverSection,
} from "../helpers/ops-cli.js";
import { REPO, logRecords, runCommand, waitForLog } from "../helpers/procs.js";
import { tempDir } from "../helpers/tmp.js";

test("e2e/operations-cli - a port in use: the error names the section and the port, exit 2", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "s.ini");
  const [busyReq, busyPub] = [await occupied(t), await occupied(t)];
  await writeFile(ini, serverSection("hrit", `${dir}/{name}`, busyReq));
  const req = await exitOf(t, "move_it_server", [
    ini,
    "-p",
    "0",
    "--host",
    "127.0.0.1",
    "--state-dir",
    dir,
  ]);
  assert.equal(req.code, 2);
  assert.ok(
    req.err.includes(
      `error: section [hrit], request_port ${busyReq}: cannot listen on tcp://127.0.0.1:${busyReq}: address already in use`,
    ),
    req.err,
  );
  const pub = await exitOf(t, "move_it_server", [
    ini,
    "-p",
    String(busyPub),
    "--host",
    "127.0.0.1",
    "--state-dir",
    dir,
  ]);
  assert.equal(pub.code, 2);
  assert.ok(
    pub.err.includes(
      `error: publish port ${busyPub} (-p): cannot listen on tcp://127.0.0.1:${busyPub}: address already in use`,
    ),
    pub.err,
  );
  const cini = join(dir, "c.ini");
  await writeFile(
    cini,
    `[c]\nproviders = 127.0.0.1:9\ntopic = /x\ndestination = ${dir}/out/\npublish_port = ${busyPub}\nnameservers = false\n`,
  );
  const cli = await exitOf(t, "move_it_client", [cini, "--host", "127.0.0.1"]);
  assert.equal(cli.code, 2);
  assert.ok(
    cli.err.includes(
      `error: section [c], publish_port ${busyPub}: cannot listen on tcp://127.0.0.1:${busyPub}: address already in use`,
    ),
    cli.err,
  );
});

test("e2e/operations-cli - unknown options are logged at start with the closest known one; rewrites said once", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "s.ini");
  await writeFile(
    ini,
    serverSection("hrit", `${dir}/{name}`, 0, "reqest_address = 192.0.2.2\n"),
  );
  const log = join(dir, "server.log");
  const server = runCommand(t, "move_it_server", [
    ini,
    "-p",
    "0",
    "--host",
    "127.0.0.1",
    "-l",
    log,
    "--state-dir",
    dir,
  ]);
  const warning = await waitForLog(log, "unknown config option ignored");
  assert.equal(warning["section"], "hrit");
  assert.deepEqual(warning["options"], ["reqest_address"]);
  assert.match(String(warning["detail"]), /did you mean request_address\?/);
  await waitForLog(log, "server started");
  server.child.kill("SIGTERM");
  assert.equal(await server.exited, 0);
  const cini = join(dir, "c.ini");
  await writeFile(
    cini,
    `[c]\nproviders = 127.0.0.1:9\ntopic = /x\ndestination = ${dir}/out/\nnameservers = false\nplatform_name = NOAA19:noaa19\n`,
  );
  const clog = join(dir, "client.log");
  const client = runCommand(t, "move_it_client", [
    cini,
    "--host",
    "127.0.0.1",
    "-l",
    clog,
  ]);
  await waitForLog(clog, "chain started");
  client.child.kill("SIGHUP");
  await waitForLog(clog, "reloading config");
  client.child.kill("SIGTERM");
  assert.equal(await client.exited, 0);
  const notes = (await logRecords(clog)).filter(
    (r) => r["msg"] === "options taken as metadata rewrites",
  );
  assert.equal(notes.length, 1, "said once, at start, not again at reload");
  assert.deepEqual(notes[0]!["options"], ["platform_name"]);
});

test("e2e/operations-cli - state directory: $STATE_DIRECTORY used; one not writable stops the start", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "s.ini");
  await writeFile(ini, serverSection("hrit", `${dir}/{name}`, 0));
  const state = join(dir, "from-systemd");
  const log = join(dir, "server.log");
  const server = runCommand(
    t,
    "move_it_server",
    [ini, "-p", "0", "--host", "127.0.0.1", "-l", log],
    { env: { ...process.env, STATE_DIRECTORY: state } },
  );
  const rec = await waitForLog(log, "state directory");
  assert.deepEqual(
    [rec["stateDir"], rec["source"]],
    [state, "$STATE_DIRECTORY"],
  );
  await waitForLog(log, "server started");
  server.child.kill("SIGTERM");
  assert.equal(await server.exited, 0);
  const notDir = join(dir, "a-file");
  await writeFile(notDir, "");
  const bad = await exitOf(t, "move_it_server", [
    ini,
    "-p",
    "0",
    "--state-dir",
    join(notDir, "sub"),
  ]);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.err,
    `error: state directory ${join(notDir, "sub")} (from --state-dir) is not writable (ENOTDIR): give a writable one with --state-dir or $STATE_DIRECTORY\n`,
  );
});

test("e2e/operations-cli - run as nobody with the config in a root-owned directory: error at start, not at the first deletion", async (t) => {
  if (process.getuid?.() !== 0)
    return t.skip("needs root to run a command as nobody");
  const dir = await tempDir(t);
  await chmod(dir, 0o755);
  const ini = join(dir, "s.ini");
  await writeFile(ini, serverSection("hrit", `${dir}/{name}`, 0), {
    mode: 0o644,
  });
  const r = await exitOf(
    t,
    "move_it_server",
    [ini, "-p", "0", "--host", "127.0.0.1"],
    { uid: 65534, gid: 65534, env: { ...process.env, STATE_DIRECTORY: "" } },
  );
  assert.equal(r.code, 2, r.err);
  assert.equal(
    r.err,
    `error: state directory ${join(dir, ".s.ini.state")} (from beside the config) is not writable (EACCES): give a writable one with --state-dir or $STATE_DIRECTORY\n`,
  );
});

test("e2e/operations-cli - the Python command names run the same programs", async () => {
  for (const cmd of ["move_it_server", "move_it_client", "move_it_mirror"]) {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(join(REPO, "bin", `${cmd}.py`), ["--version"], (err, stdout) =>
        err ? reject(new Error(err.message, { cause: err })) : resolve(stdout),
      ),
    );
    assert.equal(out.trim(), VERSION);
  }
  const pkg = JSON.parse(
    await readFile(join(REPO, "package.json"), "utf8"),
  ) as { bin: Record<string, string>; license: string };
  assert.equal(pkg.bin["move_it_server.py"], "bin/move_it_server.js");
  assert.match(
    await readFile(join(REPO, "LICENSE"), "utf8"),
    /GNU GENERAL PUBLIC LICENSE\s+Version 3, 29 June 2007/,
  );
  assert.equal(pkg.license, "GPL-3.0-or-later");
});

test("e2e/operations-cli - systemd unit templates: reload is HUP, restart on failure but not on a config error, a state directory", async () => {
  for (const cmd of ["move_it_server", "move_it_client", "move_it_mirror"]) {
    const unit = await readFile(
      join(REPO, "systemd", `${cmd}@.service`),
      "utf8",
    );
    for (const line of [
      "ExecReload=/bin/kill -HUP $MAINPID",
      "Restart=on-failure",
      "RestartPreventExitStatus=2",
      "StateDirectory=move_it/%i",
      `ExecStart=/usr/bin/env ${cmd} /etc/move_it/%i.ini`,
      `ExecStartPre=/usr/bin/env ${cmd} /etc/move_it/%i.ini --check`,
    ]) {
      assert.ok(
        unit.split("\n").includes(line),
        `${cmd}@.service lacks ${line}`,
      );
    }
  }
});
