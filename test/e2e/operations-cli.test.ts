import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { freePort } from "../helpers/net.js";
import { REPO, logRecords, runCommand, waitForLog } from "../helpers/procs.js";
import { tempDir } from "../helpers/tmp.js";

const VERSION = (JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string }).version;

async function exitOf(t: TestContext, cmd: string, args: string[], opts: Parameters<typeof runCommand>[3] = {}): Promise<{ code: number | null; out: string; err: string }> {
  const p = runCommand(t, cmd, args, opts);
  const code = await p.exited;
  return { code, out: p.stdout(), err: p.stderr() };
}

async function occupy(t: TestContext, port: number): Promise<Server> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(port, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => s.close(() => r())));
  return s;
}

const serverSection = (name: string, origin: string, port: number, extra = ""): string => `[${name}]\norigin = ${origin}\ntopic = /ops/${name}\nrequest_port = ${port}\n${extra}`;

test("e2e/operations-cli - --check prints what would run and exits 0 for a good config", async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, "in"));
  const ini = join(dir, "server.ini");
  const [pub, req] = [await freePort(), await freePort()];
  await writeFile(ini, serverSection("hrit", `${dir}/in/{name}.dat`, req, "request_address = 127.0.0.1\ndelete = true\n"));
  const r = await exitOf(t, "move_it_server", [ini, "--check", "-p", String(pub), "--host", "127.0.0.1", "--state-dir", join(dir, "state")]);
  assert.equal(r.code, 0, r.out + r.err);
  for (const part of [`move_it_server ${VERSION}: ${ini}`, `publish on tcp://127.0.0.1:${pub}`, `[hrit] watch ${dir}/in/{name}.dat → announce on /ops/hrit; requests on port ${req}, advertised as 127.0.0.1:${req}`, "delete 30 s after serving", `state directory ${join(dir, "state")} (from --state-dir)`, "config OK, 0 warning(s)"]) {
    assert.ok(r.out.includes(part), `--check output lacks ${JSON.stringify(part)}:\n${r.out}`);
  }
});

test("e2e/operations-cli - --check lists every problem, warns of unknown options and ports in use, exits 2", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "server.ini");
  const busy = await freePort();
  await occupy(t, busy);
  await writeFile(ini, [
    serverSection("a", "/data/{name.dat", await freePort()),
    serverSection("b", "data/{name}.dat", await freePort(), "remove_delay = soon\n"),
    serverSection("c", `${dir}/{name}`, busy, "reqest_address = 192.0.2.2\n"),
  ].join(""));
  const r = await exitOf(t, "move_it_server", [ini, "--check", "-p", String(await freePort()), "--host", "127.0.0.1", "--state-dir", dir]);
  assert.equal(r.code, 2, r.out);
  const expected = [
    `error: file ${ini}, section [a], option origin, value "/data/{name.dat": not a valid pattern`,
    `error: file ${ini}, section [b], option origin, value "data/{name}.dat": must be an absolute path`,
    `error: file ${ini}, section [b], option remove_delay, value "soon": not a number of seconds`,
    `warning: file ${ini}, section [c], option reqest_address: unknown option, ignored (did you mean request_address?)`,
    `warning: section [c], request_port ${busy} is in use now`,
    "config NOT OK: 3 error(s), 2 warning(s)",
  ];
  for (const part of expected) assert.ok(r.out.includes(part), `--check output lacks ${JSON.stringify(part)}:\n${r.out}`);
});

test("e2e/operations-cli - client --check: unknown destination scheme, rewrites said once; mirror --check works", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "client.ini");
  await writeFile(ini, "[c]\nproviders = 127.0.0.1:9\ntopic = /x\ndestination = gopher://host/dir/\n[d]\nproviders = 127.0.0.1:9\ntopic = /x\ndestination = /out/\nplatform_name = a:b\n");
  const r = await exitOf(t, "move_it_client", [ini, "--check"]);
  assert.equal(r.code, 2);
  assert.ok(r.out.includes(`error: file ${ini}, section [c], option destination, value "gopher://host/dir/": unknown scheme "gopher://"`), r.out);
  assert.ok(r.out.includes(`warning: file ${ini}, section [d]: options taken as metadata rewrites, as Python trollmoves does: platform_name`), r.out);
  assert.ok(r.out.includes("[d] listen to 127.0.0.1:9 on topic /x → deliver into /out/"), r.out);
  const mini = join(dir, "mirror.ini");
  await writeFile(mini, `[m]\nproviders = 127.0.0.1:9\ndestination = ${dir}/stage/\norigin = ${dir}/stage/{name}\ntopic = /m\nrequest_port = ${await freePort()}\n`);
  const m = await exitOf(t, "move_it_mirror", [mini, "--check", "-p", String(await freePort()), "--state-dir", dir]);
  assert.equal(m.code, 0, m.out);
  assert.ok(m.out.includes("[m] listen to 127.0.0.1:9 on topic /m → fetch into") && m.out.includes("[m] watch"), m.out);
});

test("e2e/operations-cli - command-line mistakes: one clear line and exit 2; --version and -h exit 0", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "s.ini");
  await writeFile(ini, serverSection("a", `${dir}/{name}`, await freePort()));
  const cases: Array<[string[], string]> = [
    [["--foo", ini], "move_it_server: unknown option --foo\n"],
    [["--verbos", ini], "move_it_server: unknown option --verbos (did you mean --verbose?)"],
    [[ini, "-p", "abc"], 'move_it_server: --port "abc": not a port number (0..65535)'],
    [[ini, "--status-port", "99999"], 'move_it_server: --status-port "99999": not a port number'],
    [[], "move_it_server: Not enough non-option arguments"],
  ];
  for (const [args, want] of cases) {
    const r = await exitOf(t, "move_it_server", args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.ok(r.err.startsWith(want), `${args.join(" ")}: ${r.err}`);
    assert.ok(r.err.includes("Try 'move_it_server --help'"), r.err);
    assert.ok(!r.err.includes("    at "), `no stack trace: ${r.err}`);
  }
  for (const cmd of ["move_it_server", "move_it_client", "move_it_mirror"]) {
    const v = await exitOf(t, cmd, ["--version"]);
    assert.equal(v.code, 0);
    assert.equal(v.out.trim(), VERSION);
    const h = await exitOf(t, cmd, ["-h"]);
    assert.equal(h.code, 0);
    assert.match(h.out, new RegExp(`${cmd} CONFIG \\[options\\][\\s\\S]*--check`));
  }
});

test("e2e/operations-cli - bad and empty configs exit 2 listing every error; a missing file is named", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "s.ini");
  await writeFile(ini, serverSection("a", "rel/{name}", await freePort(), "remove_delay = soon\n"));
  const bad = await exitOf(t, "move_it_server", [ini, "-p", String(await freePort()), "--state-dir", dir]);
  assert.equal(bad.code, 2);
  assert.deepEqual(bad.err.trim().split("\n").map((l) => l.replace(/:[^:]*$/, "")), [
    `error: file ${ini}, section [a], option origin, value "rel/{name}"`,
    `error: file ${ini}, section [a], option remove_delay, value "soon"`,
  ]);
  await writeFile(ini, "# nothing yet\n");
  const empty = await exitOf(t, "move_it_client", [ini]);
  assert.equal(empty.code, 2);
  // The client logs its state directory (to stderr without -l) before it reads the config.
  assert.ok(empty.err.endsWith(`\nerror: file ${ini}: no [section] in the file: nothing to run\n`) || empty.err === `error: file ${ini}: no [section] in the file: nothing to run\n`, empty.err);
  const missing = await exitOf(t, "move_it_client", [join(dir, "nope.ini")]);
  assert.equal(missing.code, 2);
  assert.ok(missing.err.endsWith(`error: file ${join(dir, "nope.ini")}: cannot read the config file: ENOENT\n`), missing.err);
});

test("e2e/operations-cli - a port in use: the error names the section and the port, exit 2", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "s.ini");
  const [busyReq, busyPub] = [await freePort(), await freePort()];
  await occupy(t, busyReq);
  await occupy(t, busyPub);
  await writeFile(ini, serverSection("hrit", `${dir}/{name}`, busyReq));
  const req = await exitOf(t, "move_it_server", [ini, "-p", String(await freePort()), "--host", "127.0.0.1", "--state-dir", dir]);
  assert.equal(req.code, 2);
  assert.ok(req.err.includes(`error: section [hrit], request_port ${busyReq}: cannot listen on tcp://127.0.0.1:${busyReq}: address already in use`), req.err);
  const pub = await exitOf(t, "move_it_server", [ini, "-p", String(busyPub), "--host", "127.0.0.1", "--state-dir", dir]);
  assert.equal(pub.code, 2);
  assert.ok(pub.err.includes(`error: publish port ${busyPub} (-p): cannot listen on tcp://127.0.0.1:${busyPub}: address already in use`), pub.err);
  const cini = join(dir, "c.ini");
  await writeFile(cini, `[c]\nproviders = 127.0.0.1:${await freePort()}\ntopic = /x\ndestination = ${dir}/out/\npublish_port = ${busyPub}\nnameservers = false\n`);
  const cli = await exitOf(t, "move_it_client", [cini, "--host", "127.0.0.1"]);
  assert.equal(cli.code, 2);
  assert.ok(cli.err.includes(`error: section [c], publish_port ${busyPub}: cannot listen on tcp://127.0.0.1:${busyPub}: address already in use`), cli.err);
});

test("e2e/operations-cli - unknown options are logged at start with the closest known one; rewrites said once", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "s.ini");
  await writeFile(ini, serverSection("hrit", `${dir}/{name}`, await freePort(), "reqest_address = 192.0.2.2\n"));
  const log = join(dir, "server.log");
  const server = runCommand(t, "move_it_server", [ini, "-p", String(await freePort()), "--host", "127.0.0.1", "-l", log, "--state-dir", dir]);
  const warning = await waitForLog(log, "unknown config option ignored");
  assert.equal(warning["section"], "hrit");
  assert.deepEqual(warning["options"], ["reqest_address"]);
  assert.match(String(warning["detail"]), /did you mean request_address\?/);
  await waitForLog(log, "server started");
  server.child.kill("SIGTERM");
  assert.equal(await server.exited, 0);
  const cini = join(dir, "c.ini");
  await writeFile(cini, `[c]\nproviders = 127.0.0.1:${await freePort()}\ntopic = /x\ndestination = ${dir}/out/\nnameservers = false\nplatform_name = NOAA19:noaa19\n`);
  const clog = join(dir, "client.log");
  const client = runCommand(t, "move_it_client", [cini, "--host", "127.0.0.1", "-l", clog]);
  await waitForLog(clog, "chain started");
  client.child.kill("SIGHUP");
  await waitForLog(clog, "reloading config");
  client.child.kill("SIGTERM");
  assert.equal(await client.exited, 0);
  const notes = (await logRecords(clog)).filter((r) => r["msg"] === "options taken as metadata rewrites");
  assert.equal(notes.length, 1, "said once, at start, not again at reload");
  assert.deepEqual(notes[0]!["options"], ["platform_name"]);
});

test("e2e/operations-cli - state directory: $STATE_DIRECTORY used; one not writable stops the start", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "s.ini");
  await writeFile(ini, serverSection("hrit", `${dir}/{name}`, await freePort()));
  const state = join(dir, "from-systemd");
  const log = join(dir, "server.log");
  const server = runCommand(t, "move_it_server", [ini, "-p", String(await freePort()), "--host", "127.0.0.1", "-l", log], { env: { ...process.env, STATE_DIRECTORY: state } });
  const rec = await waitForLog(log, "state directory");
  assert.deepEqual([rec["stateDir"], rec["source"]], [state, "$STATE_DIRECTORY"]);
  await waitForLog(log, "server started");
  server.child.kill("SIGTERM");
  assert.equal(await server.exited, 0);
  const notDir = join(dir, "a-file");
  await writeFile(notDir, "");
  const bad = await exitOf(t, "move_it_server", [ini, "-p", String(await freePort()), "--state-dir", join(notDir, "sub")]);
  assert.equal(bad.code, 2);
  assert.equal(bad.err, `error: state directory ${join(notDir, "sub")} (from --state-dir) is not writable (ENOTDIR): give a writable one with --state-dir or $STATE_DIRECTORY\n`);
});

test("e2e/operations-cli - run as nobody with the config in a root-owned directory: error at start, not at the first deletion", async (t) => {
  if (process.getuid?.() !== 0) return t.skip("needs root to run a command as nobody");
  const dir = await tempDir(t);
  await chmod(dir, 0o755);
  const ini = join(dir, "s.ini");
  await writeFile(ini, serverSection("hrit", `${dir}/{name}`, await freePort()), { mode: 0o644 });
  const r = await exitOf(t, "move_it_server", [ini, "-p", String(await freePort()), "--host", "127.0.0.1"], { uid: 65534, gid: 65534, env: { ...process.env, STATE_DIRECTORY: "" } });
  assert.equal(r.code, 2, r.err);
  assert.equal(r.err, `error: state directory ${join(dir, ".s.ini.state")} (from beside the config) is not writable (EACCES): give a writable one with --state-dir or $STATE_DIRECTORY\n`);
});

test("e2e/operations-cli - the Python command names run the same programs", async () => {
  for (const cmd of ["move_it_server", "move_it_client", "move_it_mirror"]) {
    const out = await new Promise<string>((resolve, reject) => execFile(join(REPO, "bin", `${cmd}.py`), ["--version"], (err, stdout) => (err ? reject(err) : resolve(stdout))));
    assert.equal(out.trim(), VERSION);
  }
  const pkg = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { bin: Record<string, string>; license: string };
  assert.equal(pkg.bin["move_it_server.py"], "bin/move_it_server.js");
  assert.match(await readFile(join(REPO, "LICENSE"), "utf8"), /GNU GENERAL PUBLIC LICENSE\s+Version 3, 29 June 2007/);
  assert.equal(pkg.license, "GPL-3.0-or-later");
});

test("e2e/operations-cli - systemd unit templates: reload is HUP, restart on failure but not on a config error, a state directory", async () => {
  for (const cmd of ["move_it_server", "move_it_client", "move_it_mirror"]) {
    const unit = await readFile(join(REPO, "systemd", `${cmd}@.service`), "utf8");
    for (const line of ["ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure", "RestartPreventExitStatus=2", "StateDirectory=move_it/%i", `ExecStart=/usr/bin/env ${cmd} /etc/move_it/%i.ini`, `ExecStartPre=/usr/bin/env ${cmd} /etc/move_it/%i.ini --check`]) {
      assert.ok(unit.split("\n").includes(line), `${cmd}@.service lacks ${line}`);
    }
  }
});
