import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  appendFile,
  mkdir,
  readFile,
  rename,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { sample, scrape } from "../helpers/prom.js";
import { REPO, runCommand, waitForLog } from "../helpers/procs.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const run = promisify(execFile);

for (const [cmd, options] of [
  [
    "move_it_server",
    [
      "--port",
      "--disable-backlog",
      "--watchdog",
      "--log",
      "--verbose",
      "--log-config",
      "--status-port",
    ],
  ],
  ["move_it_client", ["--log", "--verbose", "--log-config", "--status-port"]],
  ["move_it_mirror", ["--port", "--log", "--verbose", "--log-config"]],
] as const) {
  test(`e2e/cli - ${cmd} --help lists its options`, async () => {
    const { stdout } = await run(process.execPath, [
      join(REPO, "bin", `${cmd}.js`),
      "--help",
    ]);
    for (const o of options)
      assert.ok(stdout.includes(o), `${cmd} --help lacks ${o}`);
  });
}

test("e2e/cli - a bad config exits 2 with one error naming file, section, option and value", async (t) => {
  const dir = await tempDir(t);
  const ini = join(dir, "bad.ini");
  await writeFile(
    ini,
    "[eumetcast]\norigin = /data/{name}.dat\ntopic = /x\nrequest_port = 9201\nremove_delay = soon\n",
  );
  const p = runCommand(t, "move_it_server", [
    ini,
    "-p",
    "0",
    "--host",
    "127.0.0.1",
  ]);
  assert.equal(await p.exited, 2);
  const err = p.stderr();
  for (const part of [ini, "[eumetcast]", "remove_delay", '"soon"'])
    assert.ok(err.includes(part), `error lacks ${part}: ${err}`);
});

test("e2e/cli - a server that cannot bind its second chain's port exits 2 within seconds, naming section and port", async (t) => {
  const dir = await tempDir(t);
  const holder = runCommand(t, "move_it_server", [
    await iniWith(dir, "holder.ini", [["h", 0]]),
    "-p",
    "0",
    "--host",
    "127.0.0.1",
    "-l",
    join(dir, "holder.log"),
  ]);
  const taken = Number(
    /:(\d+)$/.exec(
      String(
        (await waitForLog(join(dir, "holder.log"), "chain started"))[
          "requestAddress"
        ],
      ),
    )?.[1],
  );
  assert.ok(taken > 0);
  const started = Date.now();
  const p = runCommand(t, "move_it_server", [
    await iniWith(dir, "two.ini", [
      ["a", 0],
      ["b", taken],
    ]),
    "-p",
    "0",
    "--host",
    "127.0.0.1",
  ]);
  assert.equal(await p.exited, 2);
  assert.ok(Date.now() - started < 20_000, "exited within seconds");
  assert.match(
    p.stderr(),
    new RegExp(`section \\[b\\], request_port ${taken}: cannot listen on`),
  );
  holder.child.kill("SIGTERM");
  assert.equal(await holder.exited, 0);
});

async function iniWith(
  dir: string,
  name: string,
  sections: Array<[string, number]>,
): Promise<string> {
  const file = join(dir, name);
  await writeFile(
    file,
    sections
      .map(
        ([n, port]) =>
          `[${n}]\norigin = ${dir}/${n}/{name}.dat\ntopic = /${n}\nrequest_port = ${port}\nrequest_address = 127.0.0.1\n`,
      )
      .join(""),
  );
  return file;
}

test("e2e/cli - server and client processes move files; SIGHUP reloads; metrics; SIGTERM exits 0", async (t) => {
  const dir = await tempDir(t);
  const [inA, inB, out] = ["inA", "inB", "out"].map((d) => join(dir, d)) as [
    string,
    string,
    string,
  ];
  await Promise.all([mkdir(inA), mkdir(inB)]);
  // Every port is 0 (any free one); the bound ones are read back from the server's log.
  const srvIni = join(dir, "server.ini");
  const section = (n: string, d: string): string =>
    `[${n}]\norigin = ${d}/{name}.dat\ntopic = /e2e/${n}\nrequest_port = 0\nrequest_address = 127.0.0.1\n`;
  await writeFile(srvIni, section("a", inA));
  const srvLog = join(dir, "server.log");
  const server = runCommand(t, "move_it_server", [
    srvIni,
    "-p",
    "0",
    "--host",
    "127.0.0.1",
    "--disable-backlog",
    "-l",
    srvLog,
    "--status-port",
    "0",
  ]);
  const pub = Number(
    (await waitForLog(srvLog, "server started"))["publishPort"],
  );
  const status = Number(
    (await waitForLog(srvLog, "status server listening"))["port"],
  );
  assert.ok(pub > 0 && status > 0, "bound ports logged");
  const clientLog = join(dir, "client.log");
  await writeFile(
    join(dir, "client.ini"),
    `[c]\nproviders = 127.0.0.1:${pub}\ndestination = file://${out}/\ntopic = /e2e\npublish_port = 0\nnameservers = false\n`,
  );
  const client = runCommand(t, "move_it_client", [
    join(dir, "client.ini"),
    "--host",
    "127.0.0.1",
    "-l",
    clientLog,
  ]);
  // Subscribed once a server heartbeat (one follows each new subscriber's handshake) got through.
  await waitForLog(clientLog, "provider heard", 45_000);
  const body = "x".repeat(100_000);
  await writeFile(join(dir, "t1"), body);
  await rename(join(dir, "t1"), join(inA, "one.dat"));
  await waitFor(
    () =>
      readFile(join(out, "one.dat"), "utf8").then(
        (b) => b === body,
        () => false,
      ),
    "one.dat delivered",
  );
  // add a section and reload with SIGHUP; the file watcher may also notice the change
  await appendFile(srvIni, section("b", inB));
  server.child.kill("SIGHUP");
  await waitForLog(srvLog, "config reloaded");
  await writeFile(join(dir, "t2"), "second");
  await rename(join(dir, "t2"), join(inB, "two.dat"));
  await waitFor(
    () =>
      readFile(join(out, "two.dat"), "utf8").then(
        (b) => b === "second",
        () => false,
      ),
    "two.dat delivered after reload",
  );
  const metrics = await scrape(status);
  assert.equal(
    sample(metrics, "move_it_server_files_announced_total", { chain: "a" })
      .value,
    1,
  );
  assert.equal(
    sample(metrics, "move_it_server_files_pushed_total", {
      chain: "b",
      scheme: "file",
    }).value,
    1,
  );
  const st = (await (
    await fetch(`http://127.0.0.1:${status}/status`)
  ).json()) as { stats: { chains: Record<string, unknown> } };
  assert.deepEqual(Object.keys(st.stats.chains).sort(), ["a", "b"]);
  server.child.kill("SIGTERM");
  client.child.kill("SIGTERM");
  assert.equal(await server.exited, 0);
  assert.equal(await client.exited, 0);
  assert.equal(
    createHash("sha256")
      .update(await readFile(join(out, "one.dat")))
      .digest("hex"),
    createHash("sha256").update(body).digest("hex"),
  );
});
