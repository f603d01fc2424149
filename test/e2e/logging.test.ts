import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { inCi } from "../helpers/daemon.js";
import {
  logRecords,
  runCommand,
  waitForLog,
  type Proc,
} from "../helpers/procs.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/** A server watching `dir/in`, its log as `logArgs` say. */
async function server(
  t: TestContext,
  dir: string,
  logArgs: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Proc> {
  await mkdir(join(dir, "in"), { recursive: true });
  const ini = join(dir, "s.ini");
  await writeFile(
    ini,
    `[a]\norigin = ${dir}/in/{name}\ntopic = /log/a\nrequest_port = 0\n`,
  );
  return runCommand(
    t,
    "move_it_server",
    [
      ini,
      "-p",
      "0",
      "--host",
      "127.0.0.1",
      "--state-dir",
      join(dir, "state"),
      ...logArgs,
    ],
    { env: { ...process.env, ...env } },
  );
}

async function stop(p: Proc): Promise<void> {
  p.child.kill("SIGTERM");
  assert.equal(await p.exited, 0, p.stderr());
}

const announced = async (file: string, uid: string): Promise<boolean> =>
  (await logRecords(file)).some(
    (r) => r["msg"] === "announced" && r["uid"] === uid,
  );

test(
  "e2e/logging - -l rotates at local midnight (fake clock, TZ Asia/Tokyo): FILE.YYYY-MM-DD holds the day, FILE the next",
  {
    skip:
      !existsSync(LIBFAKETIME) && !inCi()
        ? `${LIBFAKETIME} missing: apt-get install -y faketime`
        : false,
  },
  async (t) => {
    assert.ok(
      existsSync(LIBFAKETIME),
      `${LIBFAKETIME} missing: apt-get install -y faketime`,
    );
    // 23:59:xx in Tokyo is 14:59:xx UTC: a rotation at UTC midnight would not happen here. The fake clock
    // runs from the exec, `lead` seconds before midnight: the daemon must start and log before it. 6 s is
    // plenty on an idle machine; a start slower than that (it took over 10 s at load 20) is tried again with
    // 30 s, so a slow machine costs time, not a failure.
    const midnight = Date.parse("2026-12-01T15:00:00Z");
    let dir = "";
    let log = "";
    let p: Proc | undefined;
    for (const lead of [6, 30]) {
      dir = await tempDir(t);
      log = join(dir, "server.log");
      const proc = await server(t, dir, ["-l", log, "-v"], {
        LD_PRELOAD: LIBFAKETIME,
        FAKETIME: `@2026-12-01 23:59:${String(60 - lead).padStart(2, "0")}`,
        TZ: "Asia/Tokyo",
      });
      const started = await waitForLog(log, "server started", 60_000);
      if (Date.parse(String(started["time"])) < midnight) {
        p = proc;
        break;
      }
      t.diagnostic(
        `started after the fake midnight with ${lead} s to go (${String(started["time"])}): again`,
      );
      await stop(proc);
    }
    assert.ok(
      p !== undefined,
      "the server started after the fake midnight every time: nothing to rotate",
    );
    const rotated = join(dir, "server.log.2026-12-01");
    await waitFor(
      () => existsSync(rotated),
      `${rotated} (rotation at local midnight)`,
      90_000,
    );
    await writeFile(join(dir, "in", "after-midnight.dat"), "x");
    await waitFor(
      () => announced(log, "after-midnight.dat"),
      "the announcement in the new file",
      30_000,
    );
    await stop(p);
    const before = await logRecords(rotated);
    assert.ok(
      before.some((r) => r["msg"] === "server started"),
      "the day's file has the start",
    );
    assert.ok(
      before.every((r) => Date.parse(String(r["time"])) < midnight),
      "the day's file holds only records before local midnight",
    );
    const after = await logRecords(log);
    assert.ok(
      after.every((r) => Date.parse(String(r["time"])) >= midnight),
      "the new file holds only records after local midnight",
    );
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith("server.log")).sort(),
      ["server.log", "server.log.2026-12-01"],
    );
  },
);

test("e2e/logging - --log-rotate 1s --log-keep 2: rotated files named by their period, the oldest removed, no record lost of those kept", async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, "x.log");
  const p = await server(t, dir, [
    "-l",
    log,
    "-v",
    "--log-rotate",
    "1s",
    "--log-keep",
    "2",
  ]);
  await waitForLog(log, "server started", 60_000).catch(() => undefined);
  const seen = new Set<string>();
  const rotatedNames = async (): Promise<string[]> =>
    (await readdir(dir)).filter((n) => n.startsWith("x.log."));
  let i = 0;
  await waitFor(
    async () => {
      await writeFile(join(dir, "in", `f${i++}.dat`), "x");
      for (const n of await rotatedNames()) seen.add(n);
      return seen.size >= 5;
    },
    "five rotations",
    60_000,
  );
  await stop(p);
  for (const n of seen)
    assert.match(n, /^x\.log\.\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d$/);
  const kept = await rotatedNames();
  assert.ok(
    kept.length <= 2,
    `at most 2 rotated files kept: ${kept.join(", ")}`,
  );
  // The kept files and the current one: each record is a whole JSON line (logRecords parses every line).
  for (const f of [...kept, "x.log"]) await logRecords(join(dir, f));
});

test("e2e/logging - after mv, SIGUSR1 and SIGHUP reopen -l: new records go to a new file at the path", async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, "x.log");
  const p = await server(t, dir, ["-l", log, "-v"]);
  await waitForLog(log, "server started", 60_000);
  for (const [sig, moved] of [
    ["SIGUSR1", "x.log.1"],
    ["SIGHUP", "x.log.2"],
  ] as const) {
    await rename(log, join(dir, moved));
    p.child.kill(sig);
    const reopened = await waitForLog(log, "log files reopened", 30_000);
    assert.equal(reopened["sig"], sig);
    const uid = `after-${sig}.dat`;
    await writeFile(join(dir, "in", uid), "x");
    await waitFor(
      () => announced(log, uid),
      `${uid} announced in the reopened file`,
      30_000,
    );
    assert.equal(
      await announced(join(dir, moved), uid),
      false,
      "the moved file gets nothing after the reopen",
    );
  }
  await stop(p);
  assert.ok(
    (await logRecords(log)).some((r) => r["msg"] === "server stopped"),
    "the last records reach the reopened file",
  );
});

test("e2e/logging - -c takes a trollmoves Python logging YAML: stream and file handlers, levels, formatters ignored (said once)", async (t) => {
  const dir = await tempDir(t);
  const yaml = join(dir, "log.yaml");
  await writeFile(
    yaml,
    [
      "version: 1",
      "disable_existing_loggers: false",
      "formatters:",
      "  pytroll:",
      "    format: '[%(asctime)s %(levelname)-8s %(name)s] %(message)s'",
      "handlers:",
      "  console:",
      "    class: logging.StreamHandler",
      "    level: WARNING",
      "    formatter: pytroll",
      "    stream: ext://sys.stdout",
      "  file:",
      "    class: logging.handlers.TimedRotatingFileHandler",
      "    level: DEBUG",
      "    formatter: pytroll",
      `    filename: ${dir}/timed.log`,
      "    when: midnight",
      "    backupCount: 7",
      "  sized:",
      "    class: logging.handlers.RotatingFileHandler",
      // DEBUG: the server's per-file records are debug ones (what fills it); levels are checked on the console handler.
      "    level: DEBUG",
      `    filename: ${dir}/sized.log`,
      "    maxBytes: 1500",
      "    backupCount: 2",
      "root:",
      "  level: DEBUG",
      "  handlers: [console, file, sized]",
      "",
    ].join("\n"),
  );
  const p = await server(t, dir, ["-c", yaml]);
  const timed = join(dir, "timed.log");
  await waitForLog(timed, "server started", 60_000);
  let i = 0;
  await waitFor(
    async () => {
      await writeFile(join(dir, "in", `f${i++}.dat`), "x");
      return existsSync(join(dir, "sized.log.2"));
    },
    "sized.log rotated twice by size",
    60_000,
  );
  await stop(p);
  const records = await logRecords(timed);
  assert.ok(
    records.some((r) => r["level"] === 20),
    "DEBUG records reach the DEBUG file handler",
  );
  assert.equal(
    records.filter((r) =>
      String(r["msg"]).startsWith("log config: formatters ignored"),
    ).length,
    1,
    "formatters ignored, said once",
  );
  assert.equal(
    existsSync(join(dir, "sized.log.3")),
    false,
    "backupCount 2 keeps two",
  );
  const out = p
    .stdout()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(
    out.every((r) => Number(r["level"]) >= 40),
    `the WARNING stream handler gets warnings only: ${p.stdout()}`,
  );
  assert.equal(p.stderr(), "", "nothing on stderr");
});

test("e2e/logging - -c takes the same config as JSON, and the older {level, path} JSON", async (t) => {
  const dir = await tempDir(t);
  const json = join(dir, "log.json");
  await writeFile(
    json,
    JSON.stringify({
      version: 1,
      handlers: {
        f: {
          class: "logging.FileHandler",
          filename: `${dir}/dict.log`,
          level: "INFO",
        },
      },
      root: { level: "DEBUG", handlers: ["f"] },
    }),
  );
  const p = await server(t, dir, ["-c", json]);
  await waitForLog(join(dir, "dict.log"), "server started", 60_000);
  await stop(p);
  assert.ok(
    (await logRecords(join(dir, "dict.log"))).every(
      (r) => Number(r["level"]) >= 30,
    ),
  );
  const legacy = join(dir, "legacy.json");
  await writeFile(
    legacy,
    JSON.stringify({ level: "debug", path: `${dir}/legacy.log` }),
  );
  const q = await server(t, join(dir, "b"), ["-c", legacy]);
  await waitForLog(join(dir, "legacy.log"), "server started", 60_000);
  await stop(q);
  assert.ok(
    (await logRecords(join(dir, "legacy.log"))).some((r) => r["level"] === 20),
  );
});

test("e2e/logging - a bad log path or logging config is one clear error line and exit 2", async (t) => {
  const dir = await tempDir(t);
  const cases: Array<{
    args: string[];
    files?: Record<string, string>;
    line: string;
  }> = [
    {
      args: ["-l", "/missing/dir/x.log"],
      line: "error: -l: log file /missing/dir/x.log: directory /missing/dir does not exist",
    },
    { args: ["-l", dir], line: `error: -l: log file ${dir}: is a directory` },
    {
      args: ["-c", join(dir, "nope.yaml")],
      line: `error: -c ${join(dir, "nope.yaml")}: cannot read the logging config (ENOENT)`,
    },
    {
      args: ["-c", join(dir, "bad-handler.yaml")],
      files: {
        "bad-handler.yaml":
          "version: 1\nhandlers:\n  f:\n    class: logging.FileHandler\n    filename: /missing/dir/y.log\nroot:\n  handlers: [f]\n",
      },
      line: `error: -c ${join(dir, "bad-handler.yaml")}: handler f: log file /missing/dir/y.log: directory /missing/dir does not exist`,
    },
    {
      args: ["-c", join(dir, "bad-level.yaml")],
      files: {
        "bad-level.yaml":
          "version: 1\nhandlers:\n  s:\n    class: logging.StreamHandler\nroot:\n  level: LOUD\n  handlers: [s]\n",
      },
      line: `error: -c ${join(dir, "bad-level.yaml")}: logger root: level "LOUD" is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL`,
    },
    {
      args: ["-l", join(dir, "x.log"), "--log-rotate", "7s"],
      line: 'error: --log-rotate "7s": give midnight, or days (2d), or hours dividing 24 (6h), or minutes or seconds dividing 60 (30m, 10s), or never',
    },
  ];
  for (const c of cases) {
    for (const [name, text] of Object.entries(c.files ?? {}))
      await writeFile(join(dir, name), text);
    const p = await server(t, dir, c.args);
    assert.equal(await p.exited, 2, `${c.args.join(" ")}: ${p.stderr()}`);
    assert.equal(p.stderr(), `${c.line}\n`, c.args.join(" "));
  }
  assert.equal(
    existsSync("/missing"),
    false,
    "no directory was created for the log",
  );
});
