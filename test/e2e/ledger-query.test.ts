import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { Message } from "../../src/message/index.js";
import { probeUntil } from "../helpers/lab.js";
import { REPO, runCommand } from "../helpers/procs.js";
import { serverProc } from "../helpers/server-proc.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { request } from "../helpers/zmq.js";

const run = promisify(execFile);

interface Row {
  ledger: string;
  chain: string;
  name: string;
  state: string;
  who: string | null;
  where: string | null;
  details: Record<string, unknown>;
}

/** Run bin/move_it_ledger; exit code and output. */
async function ledgerCmd(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [
      join(REPO, "bin", "move_it_ledger.js"),
      ...args,
    ]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test("e2e/ledger-query - move_it_ledger lists the server's files while it runs: state, who, where; filters; exit codes", async (t) => {
  const dir = await tempDir(t);
  const [origin, out] = [join(dir, "in"), join(dir, "out")];
  await mkdir(origin);
  await mkdir(out);
  const srv = await serverProc(
    t,
    dir,
    [{ name: "q", origin: `${origin}/{name}.dat`, topic: "/q/test" }],
    { args: ["--disable-backlog"] },
  );
  await srv.start();
  const N = 120;
  for (let i = 0; i < N; i++) {
    await writeFile(join(dir, ".t"), `file ${i}`);
    await rename(
      join(dir, ".t"),
      join(origin, `${i % 2 === 0 ? "even" : "odd"}${i}.dat`),
    );
  }
  await waitFor(
    async () =>
      (await srv.records()).filter((r) => r["msg"] === "announced").length ===
      N,
    "all announced",
    30_000,
  );
  const port = srv.ports["q"]!;
  const pushed = await request(
    port,
    new Message("/q/test", "push", {
      uri: join(origin, "even0.dat"),
      uid: "even0.dat",
      destination: `file://${out}/`,
    }),
  );
  assert.equal(pushed.type, "file");
  const acked = await request(
    port,
    new Message("/q/test", "ack", {
      uri: join(origin, "odd1.dat"),
      uid: "odd1.dat",
    }),
  );
  assert.equal(acked.type, "ack");
  const base = [srv.ini, "--state-dir", srv.stateDir];

  // The daemon keeps running and writing while we read.
  const all = await waitFor(async () => {
    const r = await ledgerCmd([...base, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Row[];
    return rows.some((x) => x.state === "pushed") &&
      rows.some((x) => x.state === "acked")
      ? rows
      : undefined;
  }, "push and ack in the ledger");
  assert.equal(all.length, N);
  const even0 = all.find((r) => r.name === "even0.dat")!;
  assert.equal(even0.state, "pushed");
  assert.equal(even0.details["pushedTo"], `file://${out}/`);
  assert.match(String(even0.who), /@/);
  assert.equal(all.find((r) => r.name === "odd1.dat")!.state, "acked");
  assert.equal(all.filter((r) => r.state === "announced").length, N - 2);
  assert.ok(
    all.every(
      (r) =>
        r.ledger === "server" && r.chain === "q" && r.where?.startsWith(origin),
    ),
  );

  const odd = JSON.parse(
    (await ledgerCmd([...base, "--json", "--name", "odd*"])).stdout,
  ) as Row[];
  assert.equal(odd.length, N / 2);
  assert.ok(odd.every((r) => r.name.startsWith("odd")));
  const onlyPushed = JSON.parse(
    (await ledgerCmd([...base, "--json", "--state", "pushed"])).stdout,
  ) as Row[];
  assert.deepEqual(
    onlyPushed.map((r) => r.name),
    ["even0.dat"],
  );
  const text = await ledgerCmd([
    ...base,
    "--name",
    "even0.dat",
    "--since",
    "1h",
  ]);
  assert.equal(text.code, 0);
  assert.match(
    text.stdout,
    /^\S+Z {2}server {2}q {2}pushed +even0\.dat {2}by \S+@\S+ {2}to file:\/\/\S+\/out\/ {2}file \S+\/in\/even0\.dat {2}\(pushed \S+Z\)\n$/,
  );
  const none = await ledgerCmd([...base, "--name", "nothing*"]);
  assert.equal(none.code, 1, "no match exits 1");
  assert.equal(none.stdout, "");
  const future = await ledgerCmd([
    ...base,
    "--since",
    new Date(Date.now() + 3_600_000).toISOString(),
  ]);
  assert.equal(future.code, 1);
  const bad = await ledgerCmd([...base, "--since", "last tuesday"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--since "last tuesday": give a duration such as/);
  const missing = await ledgerCmd([join(dir, "other.ini")]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no ledger in .*\.other\.ini\.state/);
});

test("e2e/ledger-query - rows are pruned after ledger_retention", async (t) => {
  const dir = await tempDir(t);
  const origin = join(dir, "in");
  await mkdir(origin);
  const srv = await serverProc(
    t,
    dir,
    [
      {
        name: "p",
        origin: `${origin}/{name}.dat`,
        topic: "/q/prune",
        extra: "ledger_retention = 2\n",
      },
    ],
    { args: ["--disable-backlog"] },
  );
  await srv.start();
  for (let i = 0; i < 50; i++)
    await writeFile(join(origin, `p${i}.dat`), `p ${i}`);
  await waitFor(
    async () =>
      (await srv.records()).filter((r) => r["msg"] === "announced").length ===
      50,
    "announced",
    30_000,
  );
  const base = [srv.ini, "--state-dir", srv.stateDir, "--json"];
  await waitFor(
    async () => (await ledgerCmd(base)).code === 1,
    "rows pruned",
    15_000,
  );
  const pruned = (await srv.records())
    .filter((r) => r["msg"] === "ledger pruned")
    .reduce((n, r) => n + Number(r["rows"]), 0);
  assert.equal(pruned, 50);
});

test("e2e/ledger-query - move_it_ledger lists a client's deliveries: delivered, from which server, to where", async (t) => {
  const dir = await tempDir(t);
  const [origin, out] = [join(dir, "in"), join(dir, "out")];
  await mkdir(origin);
  await mkdir(out);
  const srv = await serverProc(
    t,
    dir,
    [{ name: "s", origin: `${origin}/{name}.dat`, topic: "/q/client" }],
    { args: ["--disable-backlog"] },
  );
  await srv.start();
  const clientIni = join(dir, "client.ini");
  await writeFile(
    clientIni,
    `[c]\nproviders = 127.0.0.1:${srv.publishPort}\ndestination = file://${out}/\ntopic = /q/client\npublish_port = 0\nnameservers = false\n`,
  );
  const clientState = join(dir, "client-state");
  runCommand(t, "move_it_client", [
    clientIni,
    "--host",
    "127.0.0.1",
    "-l",
    join(dir, "client.log"),
    "--state-dir",
    clientState,
  ]);
  const drop = async (name: string): Promise<string> => {
    await writeFile(join(dir, ".t"), `client file ${name}`);
    await rename(join(dir, ".t"), join(origin, name));
    return name;
  };
  // Probes until one arrives (the client's subscriber then hears the server), then N files at once.
  await probeUntil(
    (i) => drop(`c-probe${i}.dat`),
    (name) => existsSync(join(out, name)),
  );
  const N = 20;
  const names = Array.from({ length: N }, (_, i) => `c${i}.dat`);
  for (const name of names) await drop(name);
  await waitFor(
    () => names.every((n) => existsSync(join(out, n))),
    "every file delivered",
    60_000,
  );
  // The ledger row is committed a moment after the file is in place.
  await waitFor(
    async () => {
      const r = await ledgerCmd([
        clientIni,
        "--state-dir",
        clientState,
        "--json",
        "--state",
        "delivered",
      ]);
      return (
        r.code === 0 &&
        names.every((n) =>
          (JSON.parse(r.stdout) as Row[]).some((row) => row.name === n),
        )
      );
    },
    "client deliveries in its ledger",
    60_000,
  );
  const rows = JSON.parse(
    (
      await ledgerCmd([
        clientIni,
        "--state-dir",
        clientState,
        "--json",
        "--name",
        "c*.dat",
      ])
    ).stdout,
  ) as Row[];
  const delivered = rows.filter((r) => r.state === "delivered");
  assert.ok(delivered.length >= N);
  assert.ok(
    names.every((n) => delivered.some((r) => r.name === n)),
    "every file listed delivered",
  );
  for (const r of delivered) {
    assert.equal(r.ledger, "client");
    assert.equal(r.chain, "c");
    assert.equal(r.who, `127.0.0.1:${srv.ports["s"]}`);
    assert.ok(String(r.where).includes(out), `destination ${r.where}`);
  }
});
