import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { promisify } from "node:util";
import { REPO, runCommand, waitForLog } from "../helpers/procs.js";
import { sample, scrape } from "../helpers/prom.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const run = promisify(execFile);

interface Row {
  name: string;
  state: string;
  pending: number;
  retrying: number;
  failed: number;
}

async function chain(port: number, name: string): Promise<Row | undefined> {
  const doc = (await (
    await fetch(`http://127.0.0.1:${port}/status`)
  ).json()) as { chains: Row[] };
  return doc.chains.find((c) => c.name === name);
}

/** A webhook receiver: the `move_it` part of every POSTed body. */
async function receiver(t: TestContext): Promise<{
  url: string;
  kinds: Array<{ kind: string; uid?: string; error?: string }>;
}> {
  const kinds: Array<{ kind: string; uid?: string; error?: string }> = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      kinds.push((JSON.parse(text) as { move_it: { kind: string } }).move_it);
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    kinds,
  };
}

/** move_it_status's table: the cells of the row of `name`, and the exit status. */
async function table(
  port: number,
  name: string,
): Promise<{ code: number; cells: Record<string, string> }> {
  const bin = join(REPO, "bin", "move_it_status.js");
  const res = await run(process.execPath, [
    bin,
    "--url",
    `http://127.0.0.1:${port}`,
  ]).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => ({
      code: e.code,
      stdout: e.stdout,
    }),
  );
  const lines = res.stdout.split("\n");
  const head = lines[1]!.split(/\s{2,}/);
  const row = lines.find((l) => l.startsWith(`${name} `));
  assert.ok(row !== undefined, res.stdout);
  const cells = Object.fromEntries(
    row.split(/\s{2,}/).map((v, i) => [head[i]!, v]),
  );
  return { code: res.code, cells };
}

test(
  "e2e/observe-retry - a file no server can deliver: retrying, then given up, in /metrics, /status, move_it_status and an alert; catch-up counted after a restart",
  { timeout: 240_000 },
  async (t) => {
    const dir = await tempDir(t);
    const [inDir, out, staging, state] = ["in", "out", "staging", "state"].map(
      (d) => join(dir, d),
    ) as [string, string, string, string];
    await Promise.all([inDir, out, staging, state].map((d) => mkdir(d)));
    const hook = await receiver(t);
    const srvIni = join(dir, "server.ini");
    await writeFile(
      srvIni,
      `[a]\norigin = ${inDir}/{name}.dat\ntopic = /retry/a\nrequest_port = 0\nrequest_address = 127.0.0.1\n`,
    );
    const srvLog = join(dir, "server.log");
    runCommand(t, "move_it_server", [
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
    const cliIni = join(dir, "client.ini");
    // Two chains from the one server: "bad" pushes to an FTP port where nothing listens (every push fails), "good" to a directory.
    const section = (
      name: string,
      destination: string,
      extra: string[] = [],
    ): string =>
      [
        `[${name}]`,
        `providers = 127.0.0.1:${pub}`,
        `destination = ${destination}`,
        "topic = /retry",
        "publish_port = 0",
        "nameservers = false",
        ...extra,
        "",
      ].join("\n");
    await writeFile(
      cliIni,
      [
        section("bad", "ftp://anonymous:x@127.0.0.1:1/in/", [
          "max_retry_age = 10",
          `alert_url = ${hook.url}`,
        ]),
        section("good", `file://${out}/`),
      ].join("\n"),
    );
    const cliLog = join(dir, "client.log");
    const client = runCommand(t, "move_it_client", [
      cliIni,
      "--host",
      "127.0.0.1",
      "-l",
      cliLog,
      "--status-port",
      "0",
      "--state-dir",
      state,
    ]);
    const cStatus = Number(
      (await waitForLog(cliLog, "status server listening"))["port"],
    );
    const heard = async (port: number): Promise<boolean> => {
      const m = await scrape(port);
      return ["bad", "good"].every(
        (c) =>
          sample(m, "move_it_client_provider_up", {
            chain: c,
            provider: `127.0.0.1:${pub}`,
          }).value === 1,
      );
    };
    await waitFor(() => heard(cStatus), "both chains hear the server", 45_000);

    await writeFile(join(staging, "f1.dat"), "payload\n");
    await rename(join(staging, "f1.dat"), join(inDir, "f1.dat"));

    // Retrying: the round failed, the ledger holds the file as failed, the chain is failing.
    const retrying = await waitFor(
      async () =>
        (await chain(cStatus, "bad"))?.retrying === 1
          ? chain(cStatus, "bad")
          : undefined,
      "bad: retrying",
      30_000,
    );
    assert.equal(retrying.state, "failing");
    assert.equal(retrying.failed, 0);
    const m1 = await scrape(cStatus);
    assert.ok(
      sample(m1, "move_it_client_files_failed_total", { chain: "bad" }).value >=
        1,
    );
    assert.ok(
      sample(m1, "move_it_client_push_requests_total", {
        chain: "bad",
        outcome: "failure",
      }).value >= 1,
    );
    assert.equal(
      sample(m1, "move_it_client_files_given_up_total", { chain: "bad" }).value,
      0,
    );
    // "good" meanwhile delivered the same file.
    await waitFor(
      async () =>
        sample(await scrape(cStatus), "move_it_client_files_delivered_total", {
          chain: "good",
        }).value === 1,
      "good: delivered",
    );

    // Given up past max_retry_age (10 s): counted, alerted, shown.
    const alert = await waitFor(
      () => hook.kinds.find((k) => k.kind === "file_given_up"),
      "given-up alert",
      60_000,
    );
    assert.equal(alert.uid, "f1.dat");
    const m2 = await scrape(cStatus);
    assert.equal(
      sample(m2, "move_it_client_files_given_up_total", { chain: "bad" }).value,
      1,
    );
    assert.ok(
      sample(m2, "move_it_client_retries_total", { chain: "bad" }).value >= 1,
      "retried from the ledger before giving up",
    );
    assert.equal(
      sample(m2, "move_it_client_files_failed_total", { chain: "bad" }).value,
      sample(m2, "move_it_client_retries_total", { chain: "bad" }).value + 1,
      "one failed round per try",
    );
    const gone = await waitFor(
      async () =>
        (await chain(cStatus, "bad"))?.failed === 1
          ? chain(cStatus, "bad")
          : undefined,
      "bad: given up in /status",
    );
    assert.deepEqual(
      [gone.state, gone.retrying, gone.pending],
      ["failing", 0, 0],
    );
    const m3 = await scrape(cStatus);
    assert.equal(
      sample(m3, "move_it_client_ledger_files", {
        chain: "bad",
        state: "given_up",
      }).value,
      1,
    );
    assert.equal(
      sample(m3, "move_it_client_ledger_files", {
        chain: "bad",
        state: "failed",
      }).value,
      0,
    );
    assert.equal(
      sample(m3, "move_it_client_files_pending", { chain: "bad" }).value,
      0,
    );
    assert.equal(
      sample(m3, "move_it_client_ledger_write_errors_total").value,
      0,
    );
    assert.equal(
      m3.get("move_it_client_ledger_write_errors_total")?.type,
      "counter",
    );

    const shown = await table(cStatus, "bad");
    assert.equal(shown.code, 1, "a failing chain: exit 1");
    assert.deepEqual(
      [
        shown.cells["STATE"],
        shown.cells["PROVIDERS"],
        shown.cells["PENDING"],
        shown.cells["RETRYING"],
        shown.cells["FAILED"],
      ],
      ["failing", "1/1", "0", "0", "1"],
    );
    const good = await table(cStatus, "good");
    assert.deepEqual(
      [good.cells["STATE"], good.cells["LAST FILE"], good.cells["FAILED"]],
      ["running", "f1.dat", "0"],
    );

    // A restart: the catch-up at start asks the server the ledger knows; what it hears again is not fetched again.
    client.child.kill("SIGTERM");
    assert.equal(await client.exited, 0);
    const cliLog2 = join(dir, "client2.log");
    runCommand(t, "move_it_client", [
      cliIni,
      "--host",
      "127.0.0.1",
      "-l",
      cliLog2,
      "--status-port",
      "0",
      "--state-dir",
      state,
    ]);
    const cStatus2 = Number(
      (await waitForLog(cliLog2, "status server listening"))["port"],
    );
    const provider = `127.0.0.1:${pub}`;
    const m4 = await waitFor(
      async () => {
        const m = await scrape(cStatus2);
        return m
          .get("move_it_client_catchup_requests_total")
          ?.samples.some(
            (s) =>
              s.labels["chain"] === "good" &&
              s.labels["outcome"] === "answered",
          ) === true
          ? m
          : undefined;
      },
      "catch-up at start counted",
      45_000,
    );
    assert.equal(
      sample(m4, "move_it_client_catchup_requests_total", {
        chain: "good",
        provider,
        outcome: "answered",
      }).value,
      1,
    );
    assert.equal(
      sample(m4, "move_it_client_catchup_announcements_total", {
        chain: "good",
        provider,
      }).value,
      1,
      "f1.dat heard again by catch-up",
    );
    // A later heartbeat bounds the absence check below.
    await waitFor(
      () => heard(cStatus2),
      "the restarted client hears the server",
      45_000,
    );
    const m5 = await scrape(cStatus2);
    const delivered =
      m5
        .get("move_it_client_files_delivered_total")
        ?.samples.filter((s) => s.labels["chain"] === "good")
        .reduce((n, s) => n + s.value, 0) ?? 0;
    assert.equal(delivered, 0, "f1.dat not fetched again");
  },
);
