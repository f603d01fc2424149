/**
 * The commands' operations interface, before a daemon runs: --check, command-line mistakes, bad configs.
 * What happens at start is in operations-start (apart, so each file stays inside the runner's 300 s bound on a busy machine).
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { freePort } from "../helpers/net.js";
import {
  VERSION,
  exitOf,
  occupied,
  serverSection,
} from "../helpers/ops-cli.js";
import { tempDir } from "../helpers/tmp.js";

test("e2e/operations-cli - --check prints what would run and exits 0 for a good config", async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, "in"));
  const ini = join(dir, "server.ini");
  const [pub, req] = [await freePort(), await freePort()];
  await writeFile(
    ini,
    serverSection(
      "hrit",
      `${dir}/in/{name}.dat`,
      req,
      "request_address = 127.0.0.1\ndelete = true\n",
    ),
  );
  const r = await exitOf(t, "move_it_server", [
    ini,
    "--check",
    "-p",
    String(pub),
    "--host",
    "127.0.0.1",
    "--state-dir",
    join(dir, "state"),
  ]);
  assert.equal(r.code, 0, r.out + r.err);
  for (const part of [
    `move_it_server ${VERSION}: ${ini}`,
    `publish on tcp://127.0.0.1:${pub}`,
    `[hrit] watch ${dir}/in/{name}.dat → announce on /ops/hrit; requests on port ${req}, advertised as 127.0.0.1:${req}`,
    "delete 30 s after serving",
    `state directory ${join(dir, "state")} (from --state-dir)`,
    "config OK, 0 warning(s)",
  ]) {
    assert.ok(
      r.out.includes(part),
      `--check output lacks ${JSON.stringify(part)}:\n${r.out}`,
    );
  }
});

test("e2e/operations-cli - --check lists every problem, warns of unknown options and ports in use, exits 2", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "server.ini");
  const busy = await occupied(t);
  await writeFile(
    ini,
    [
      serverSection("a", "/data/{name.dat", await freePort()),
      serverSection(
        "b",
        "data/{name}.dat",
        await freePort(),
        "remove_delay = soon\n",
      ),
      serverSection("c", `${dir}/{name}`, busy, "reqest_address = 192.0.2.2\n"),
    ].join(""),
  );
  const r = await exitOf(t, "move_it_server", [
    ini,
    "--check",
    "-p",
    String(await freePort()),
    "--host",
    "127.0.0.1",
    "--state-dir",
    dir,
  ]);
  assert.equal(r.code, 2, r.out);
  const expected = [
    `error: file ${ini}, section [a], option origin, value "/data/{name.dat": not a valid pattern`,
    `error: file ${ini}, section [b], option origin, value "data/{name}.dat": must be an absolute path`,
    `error: file ${ini}, section [b], option remove_delay, value "soon": not a number of seconds`,
    `warning: file ${ini}, section [c], option reqest_address: unknown option, ignored (did you mean request_address?)`,
    `warning: section [c], request_port ${busy} is in use now`,
    "config NOT OK: 3 error(s), 2 warning(s)",
  ];
  for (const part of expected)
    assert.ok(
      r.out.includes(part),
      `--check output lacks ${JSON.stringify(part)}:\n${r.out}`,
    );
});

test("e2e/operations-cli - --check reports every bad connection parameter, by file, section, option and value", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "server.ini");
  const extra =
    "connection_parameters__connection_uptime = soon\nconnection_parameters__accept_new_host_keys = maybe\nconnection_parameters__max_connections = -2\n";
  await writeFile(
    ini,
    serverSection("net", `${dir}/{name}`, await freePort(), extra),
  );
  const r = await exitOf(t, "move_it_server", [
    ini,
    "--check",
    "-p",
    String(await freePort()),
    "--host",
    "127.0.0.1",
    "--state-dir",
    dir,
  ]);
  assert.equal(r.code, 2, r.out);
  const expected = [
    `error: file ${ini}, section [net], option connection_parameters__connection_uptime, value "soon": not a non-negative number of seconds`,
    `error: file ${ini}, section [net], option connection_parameters__accept_new_host_keys, value "maybe": not a boolean`,
    `error: file ${ini}, section [net], option connection_parameters__max_connections, value "-2": not a non-negative number`,
    "config NOT OK: 3 error(s)",
  ];
  for (const part of expected)
    assert.ok(
      r.out.includes(part),
      `--check output lacks ${JSON.stringify(part)}:\n${r.out}`,
    );
});

test("e2e/operations-cli - client --check: unknown destination scheme, rewrites said once; mirror --check works", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "client.ini");
  await writeFile(
    ini,
    "[c]\nproviders = 127.0.0.1:9\ntopic = /x\ndestination = gopher://host/dir/\n[d]\nproviders = 127.0.0.1:9\ntopic = /x\ndestination = /out/\nplatform_name = a:b\n",
  );
  const r = await exitOf(t, "move_it_client", [ini, "--check"]);
  assert.equal(r.code, 2);
  assert.ok(
    r.out.includes(
      `error: file ${ini}, section [c], option destination, value "gopher://host/dir/": unknown scheme "gopher://"`,
    ),
    r.out,
  );
  assert.ok(
    r.out.includes(
      `warning: file ${ini}, section [d]: options taken as metadata rewrites, as Python trollmoves does: platform_name`,
    ),
    r.out,
  );
  assert.ok(
    r.out.includes(
      "[d] listen to 127.0.0.1:9 on topic /x → deliver into /out/",
    ),
    r.out,
  );
  const mini = join(dir, "mirror.ini");
  await writeFile(
    mini,
    `[m]\nproviders = 127.0.0.1:9\ndestination = ${dir}/stage/\norigin = ${dir}/stage/{name}\ntopic = /m\nrequest_port = ${await freePort()}\n`,
  );
  const m = await exitOf(t, "move_it_mirror", [
    mini,
    "--check",
    "-p",
    String(await freePort()),
    "--state-dir",
    dir,
  ]);
  assert.equal(m.code, 0, m.out);
  assert.ok(
    m.out.includes("[m] listen to 127.0.0.1:9 on topic /m → fetch into") &&
      m.out.includes("[m] watch"),
    m.out,
  );
});

test("e2e/operations-cli - command-line mistakes: one clear line and exit 2; --version and -h exit 0", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "s.ini");
  await writeFile(ini, serverSection("a", `${dir}/{name}`, 0));
  const cases: Array<[string[], string]> = [
    [["--foo", ini], "move_it_server: unknown option --foo\n"],
    [
      ["--verbos", ini],
      "move_it_server: unknown option --verbos (did you mean --verbose?)",
    ],
    [
      [ini, "-p", "abc"],
      'move_it_server: --port "abc": not a port number (0..65535)',
    ],
    [
      [ini, "--status-port", "99999"],
      'move_it_server: --status-port "99999": not a port number',
    ],
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
    assert.match(
      h.out,
      new RegExp(`${cmd} CONFIG \\[options\\][\\s\\S]*--check`),
    );
  }
});

test("e2e/operations-cli - bad and empty configs exit 2 listing every error; a missing file is named", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "s.ini");
  await writeFile(
    ini,
    serverSection("a", "rel/{name}", 0, "remove_delay = soon\n"),
  );
  const bad = await exitOf(t, "move_it_server", [
    ini,
    "-p",
    "0",
    "--state-dir",
    dir,
  ]);
  assert.equal(bad.code, 2);
  assert.deepEqual(
    bad.err
      .trim()
      .split("\n")
      .map((l) => l.replace(/:[^:]*$/, "")),
    [
      `error: file ${ini}, section [a], option origin, value "rel/{name}"`,
      `error: file ${ini}, section [a], option remove_delay, value "soon"`,
    ],
  );
  await writeFile(ini, "# nothing yet\n");
  const empty = await exitOf(t, "move_it_client", [ini]);
  assert.equal(empty.code, 2);
  // The client logs its state directory (to stderr without -l) before it reads the config.
  assert.ok(
    empty.err.endsWith(
      `\nerror: file ${ini}: no [section] in the file: nothing to run\n`,
    ) ||
      empty.err ===
        `error: file ${ini}: no [section] in the file: nothing to run\n`,
    empty.err,
  );
  const missing = await exitOf(t, "move_it_client", [join(dir, "nope.ini")]);
  assert.equal(missing.code, 2);
  assert.ok(
    missing.err.endsWith(
      `error: file ${join(dir, "nope.ini")}: cannot read the config file: ENOENT\n`,
    ),
    missing.err,
  );
});
