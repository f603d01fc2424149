import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  appendFile,
  mkdir,
  readFile,
  readdir,
  rename,
  writeFile,
} from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { promisify } from "node:util";
import { openPage, skipWithoutChromium } from "../helpers/browser.js";
import { freePort } from "../helpers/net.js";
import { REPO, logRecords, runCommand, waitForLog } from "../helpers/procs.js";
import { sample, scrape, type Family } from "../helpers/prom.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const run = promisify(execFile);

interface Received {
  text: string;
  move_it: {
    kind: string;
    chain: string;
    provider?: string;
    missing?: string[];
    slot?: string;
  };
}

/** A local webhook receiver: every POSTed JSON body, in order. */
async function receiver(
  t: TestContext,
): Promise<{ url: string; bodies: Received[] }> {
  const bodies: Received[] = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      if (
        req.method === "POST" &&
        req.headers["content-type"] === "application/json"
      )
        bodies.push(JSON.parse(text) as Received);
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    bodies,
  };
}

interface StatusDoc {
  program: string;
  chains: Array<{
    name: string;
    role: string;
    state: string;
    missing: number;
    late: number;
    providers: Array<{ address: string; up: boolean; lastHeardAt: number }>;
    recent: Array<{ uid: string; latencySeconds: number; ageSeconds: number }>;
    expected?: { incomplete: Array<{ slot: string; missing: string[] }> };
  }>;
  stats: unknown;
}

async function status(port: number): Promise<StatusDoc> {
  return (await (
    await fetch(`http://127.0.0.1:${port}/status`)
  ).json()) as StatusDoc;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

/** Drop a file into `dir` by rename, as a receiver would. */
async function drop(
  dir: string,
  staging: string,
  name: string,
  body: string,
): Promise<void> {
  await writeFile(join(staging, name), body);
  await rename(join(staging, name), join(dir, name));
}

function total(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const f = families.get(name);
  if (f === undefined) return 0;
  return f.samples
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

test(
  "e2e/observe - metrics, expected files, alerts, status page and move_it_status after real transfers",
  { skip: skipWithoutChromium(), timeout: 180_000 },
  async (t) => {
    const dir = await tempDir(t);
    const [inDir, out, staging] = ["in", "out", "staging"].map((d) =>
      join(dir, d),
    ) as [string, string, string];
    await Promise.all([inDir, out, staging].map((d) => mkdir(d)));
    // Ports are 0 and read back from the logs; the second provider is port 1, where nothing listens on loopback.
    const dead = 1;
    const hook = await receiver(t);
    const srvIni = join(dir, "server.ini");
    const section = (extra = ""): string =>
      `[a]\norigin = ${inDir}/{platform}_{orbit:05d}_{band:d}_{start_time:%Y%m%d%H%M%S}.dat\ntopic = /obs/a\nrequest_port = 0\nrequest_address = 127.0.0.1\n${extra}`;
    await writeFile(srvIni, section());
    const [srvLog, cliLog] = [join(dir, "server.log"), join(dir, "client.log")];
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
    const sStatus = Number(
      (await waitForLog(srvLog, "status server listening"))["port"],
    );
    const cliIni = join(dir, "client.ini");
    const clientSection = (publishPort: number): string =>
      [
        "[c]",
        `providers = 127.0.0.1:${pub} 127.0.0.1:${dead}`,
        `destination = file://${out}/`,
        "topic = /obs",
        `publish_port = ${publishPort}`,
        "nameservers = false",
        "expect_every = pass",
        "expect_key = orbit",
        "expect_files = band=1..3",
        "expect_late = 8s",
        `alert_url = ${hook.url}`,
        "alert_provider_down = 2s",
        "",
      ].join("\n");
    await writeFile(cliIni, clientSection(0));
    const client = runCommand(t, "move_it_client", [
      cliIni,
      "--host",
      "127.0.0.1",
      "-l",
      cliLog,
      "--status-port",
      "0",
    ]);
    const cStatus = Number(
      (await waitForLog(cliLog, "status server listening"))["port"],
    );
    // Subscribed once a server heartbeat was heard (one follows each new subscriber's handshake).
    await waitFor(
      async () =>
        (await status(cStatus)).chains[0]?.providers.find(
          (p) => p.address === `127.0.0.1:${pub}`,
        )?.up,
      "client hears the server",
      45_000,
    );

    // Orbit 100 complete, orbit 101 lacks band 3.
    const when = stamp(new Date(Date.now() - 600_000));
    const names = [
      [100, 1],
      [100, 2],
      [100, 3],
      [101, 1],
      [101, 2],
    ].map(([o, b]) => `noaa_${String(o).padStart(5, "0")}_${b}_${when}.dat`);
    const bodies = names.map((n, i) => `${n}\n`.repeat(100 * (i + 1)));
    for (const [i, n] of names.entries())
      await drop(inDir, staging, n, bodies[i]!);
    await waitFor(
      async () =>
        (await readdir(out)).filter((n) => n.endsWith(".dat")).length === 5,
      "5 files delivered",
      30_000,
    );
    const bytes = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0);

    // Server metrics, parsed: a file is in place a moment before its push is counted, so wait for the count.
    const sm = await waitFor(async () => {
      const m = await scrape(sStatus);
      return total(m, "move_it_server_files_pushed_total") >= 5 ? m : undefined;
    }, "server pushes counted");
    assert.equal(
      sample(sm, "move_it_server_files_announced_total", { chain: "a" }).value,
      5,
    );
    assert.equal(
      sample(sm, "move_it_server_files_pushed_total", {
        chain: "a",
        scheme: "file",
      }).value,
      5,
    );
    assert.equal(
      sample(sm, "move_it_server_sent_bytes_total", {
        chain: "a",
        scheme: "file",
      }).value,
      bytes,
    );
    assert.equal(
      sample(sm, "move_it_server_requests_total", { chain: "a", type: "push" })
        .value,
      5,
    );
    const push = sample(sm, "move_it_server_push_duration_seconds", {
      chain: "a",
      scheme: "file",
    });
    assert.equal(
      sm.get("move_it_server_push_duration_seconds")?.type,
      "histogram",
    );
    assert.equal(push.count, 5);
    assert.ok(push.sum! > 0 && push.sum! < 30, `push seconds ${push.sum}`);
    assert.equal(
      sample(sm, "move_it_server_chain_up", { chain: "a" }).value,
      1,
    );

    // Client metrics, parsed: bytes come from a stat of the delivered files, so wait for them.
    const cm = await waitFor(async () => {
      const m = await scrape(cStatus);
      return total(m, "move_it_client_delivered_bytes_total") === bytes
        ? m
        : undefined;
    }, "delivered bytes counted");
    const provider = `127.0.0.1:${pub}`;
    assert.equal(
      sample(cm, "move_it_client_files_delivered_total", {
        chain: "c",
        provider,
        scheme: "file",
      }).value,
      5,
    );
    assert.equal(
      sample(cm, "move_it_client_files_announced_total", {
        chain: "c",
        provider,
      }).value,
      5,
    );
    assert.equal(
      sample(cm, "move_it_client_push_requests_total", {
        chain: "c",
        provider,
        outcome: "success",
      }).value,
      5,
    );
    assert.equal(
      sample(cm, "move_it_client_push_duration_seconds", {
        chain: "c",
        provider,
      }).count,
      5,
    );
    const latency = sample(cm, "move_it_client_delivery_latency_seconds", {
      chain: "c",
      provider,
    });
    assert.equal(latency.count, 5);
    assert.ok(latency.sum! >= 0 && latency.sum! < 60, `latency ${latency.sum}`);
    const age = sample(cm, "move_it_client_file_age_seconds", { chain: "c" });
    assert.equal(age.count, 5);
    // The files' own start_time is 10 min ago: each is at least that old.
    assert.ok(age.sum! >= 5 * 590 && age.sum! < 5 * 900, `age ${age.sum}`);
    assert.equal(age.buckets?.["600"], 0);
    assert.equal(age.buckets?.["900"], 5);
    assert.equal(
      sample(cm, "move_it_client_provider_up", { chain: "c", provider }).value,
      1,
    );
    assert.equal(
      sample(cm, "move_it_client_provider_up", {
        chain: "c",
        provider: `127.0.0.1:${dead}`,
      }).value,
      0,
    );
    assert.equal(
      sample(cm, "move_it_client_files_pending", { chain: "c" }).value,
      0,
    );
    assert.ok(
      sample(cm, "move_it_client_last_delivery_timestamp_seconds", {
        chain: "c",
      }).value >
        Date.now() / 1000 - 120,
    );

    // Conventions: counters end in _total, durations are histograms in seconds, HELP is written for people,
    // process and Node metrics under their standard names.
    for (const m of [sm, cm]) {
      for (const f of m.values()) {
        if (f.type === "counter")
          assert.match(f.name, /_total$/, `${f.name} is a counter`);
        // (prom-client's own nodejs_active_resources_total is a gauge: its standard name is kept.)
        if (f.name.startsWith("move_it_") && f.name.endsWith("_total"))
          assert.equal(f.type, "counter", f.name);
        assert.ok(
          f.help.length > 15 && !/see README/.test(f.help),
          `HELP of ${f.name}: ${f.help}`,
        );
      }
      for (const std of [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "nodejs_heap_size_used_bytes",
        "nodejs_eventloop_lag_seconds",
      ])
        assert.ok(m.has(std), std);
      assert.ok(
        ![...m.keys()].some(
          (n) =>
            n.startsWith("move_it_server_process") ||
            n.startsWith("move_it_client_nodejs"),
        ),
      );
    }

    // Orbit 101 closes incomplete: log line, counters, /status list, alert.
    const closed = await waitForLog(cliLog, "slot incomplete", 30_000);
    assert.equal(closed["slot"], "101");
    assert.deepEqual(closed["files"], ["band=3"]);
    const slotAlert = await waitFor(
      () => hook.bodies.find((b) => b.move_it.kind === "slot_incomplete"),
      "slot alert",
    );
    assert.deepEqual(slotAlert.move_it.missing, ["band=3"]);
    assert.match(slotAlert.text, /slot 101 closed with 1 of 3 files missing/);
    // The dead provider is alerted; the live one may be too if it was not heard within 2 s of the client's start, then back up.
    const downAlert = await waitFor(
      () =>
        hook.bodies.find(
          (b) =>
            b.move_it.kind === "provider_down" &&
            b.move_it.provider === `127.0.0.1:${dead}`,
        ),
      "provider down alert",
    );
    assert.match(downAlert.text, /provider 127\.0\.0\.1:\d+ unheard for \d+ s/);
    const liveDown = hook.bodies.some(
      (b) =>
        b.move_it.kind === "provider_down" &&
        b.move_it.provider === `127.0.0.1:${pub}`,
    );
    if (liveDown)
      await waitFor(
        () =>
          hook.bodies.find(
            (b) =>
              b.move_it.kind === "provider_up" &&
              b.move_it.provider === `127.0.0.1:${pub}`,
          ),
        "provider up alert",
      );
    assert.ok(
      !(await logRecords(cliLog)).some(
        (r) => r["msg"] === "slot incomplete" && r["slot"] === "100",
      ),
      "orbit 100 was complete",
    );
    let cs = (await status(cStatus)).chains.find((c) => c.name === "c")!;
    assert.deepEqual(
      cs.expected?.incomplete.map((s) => [s.slot, s.missing]),
      [["101", ["band=3"]]],
    );
    assert.equal(cs.missing, 1);
    const cm2 = await scrape(cStatus);
    assert.equal(
      sample(cm2, "move_it_client_files_missing_total", { chain: "c" }).value,
      1,
    );
    assert.equal(
      sample(cm2, "move_it_client_slots_incomplete_total", { chain: "c" })
        .value,
      1,
    );

    // The status page in a real browser.
    const page = await openPage(t);
    await page.goto(`http://127.0.0.1:${cStatus}/`);
    const box = page.locator('section[data-chain="c"]');
    await box
      .locator('[data-testid="recent"]')
      .getByText(names[4]!)
      .waitFor({ timeout: 20_000 });
    assert.equal(await page.title(), "move_it status");
    assert.equal(
      await page.locator("h1").textContent(),
      "move_it_client status",
    );
    assert.equal(
      await box.locator('[data-testid="state"]').textContent(),
      "lagging",
    );
    assert.equal(await box.locator('[data-testid="recent"] tr').count(), 6);
    assert.match(
      (await box.locator('[data-testid="incomplete"]').textContent()) ?? "",
      /101.*1 of 3: band=3/,
    );
    assert.ok(
      (await box.locator('[data-testid="latency-point"]').count()) >= 1,
    );
    const providers =
      (await box.locator('[data-testid="providers"]').textContent()) ?? "";
    assert.match(providers, new RegExp(`127\\.0\\.0\\.1:${pub}up`));
    assert.match(providers, new RegExp(`127\\.0\\.0\\.1:${dead}down`));
    assert.equal(await page.locator("#error").textContent(), "");

    // move_it_status: the table, --json, and the exit status (1: a chain is lagging).
    const bin = join(REPO, "bin", "move_it_status.js");
    const table = await run(process.execPath, [
      bin,
      "--url",
      `http://127.0.0.1:${cStatus}`,
    ]).then(
      () => assert.fail("exit 0 while lagging"),
      (e: { code: number; stdout: string }) => e,
    );
    assert.equal(table.code, 1);
    const row = table.stdout.split("\n").find((l) => l.startsWith("c "));
    assert.ok(row !== undefined, table.stdout);
    assert.deepEqual(row.split(/\s{2,}/).slice(0, 4), [
      "c",
      "client",
      "lagging",
      "1/2",
    ]);
    assert.ok(
      names.some((n) => row.includes(n)),
      row,
    );
    const srvTable = await run(process.execPath, [
      bin,
      "--url",
      `http://127.0.0.1:${sStatus}/`,
    ]);
    assert.match(srvTable.stdout, /^a\s+server\s+running/m);
    const json = JSON.parse(
      (
        await run(process.execPath, [
          bin,
          "--url",
          `http://127.0.0.1:${sStatus}`,
          "--json",
        ])
      ).stdout,
    ) as StatusDoc;
    assert.equal(json.program, "move_it_server");
    assert.deepEqual(
      json.chains.map((c) => [c.name, c.role]),
      [["a", "server"]],
    );
    const unreachable = await run(process.execPath, [
      bin,
      "--url",
      `http://127.0.0.1:${dead}`,
      "--timeout",
      "2",
    ]).then(
      () => 0,
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal((unreachable as { code: number }).code, 2);
    assert.match(
      (unreachable as { stderr: string }).stderr,
      /cannot read http:\/\/127\.0\.0\.1/,
    );

    // The late band 3 of orbit 101: counted late, struck off the missing list.
    const lateName = `noaa_00101_3_${when}.dat`;
    await drop(inDir, staging, lateName, "late\n");
    await waitForLog(cliLog, "file late", 30_000);
    cs = (await status(cStatus)).chains.find((c) => c.name === "c")!;
    assert.deepEqual(cs.expected?.incomplete[0]?.missing, []);
    assert.equal(cs.late, 1);
    assert.equal(
      sample(await scrape(cStatus), "move_it_client_files_late_total", {
        chain: "c",
      }).value,
      1,
    );

    // Reloads that re-create both chains keep the counters counting.
    await appendFile(srvIni, "info = station=test\n");
    // A new publish_port makes the client re-create the chain (not reconfigure it in place).
    await writeFile(cliIni, clientSection(await freePort()));
    server.child.kill("SIGHUP");
    client.child.kill("SIGHUP");
    await waitForLog(srvLog, "config reloaded");
    await waitForLog(cliLog, "chain restarted");
    await waitFor(
      async () =>
        (await status(cStatus)).chains[0]?.providers.find(
          (p) => p.address === provider,
        )?.up,
      "client hears the server again",
      45_000,
    );
    await drop(inDir, staging, `noaa_00102_1_${when}.dat`, "after reload\n");
    await waitFor(
      () =>
        readFile(join(out, `noaa_00102_1_${when}.dat`), "utf8").then(
          (b) => b === "after reload\n",
          () => false,
        ),
      "delivered after reload",
      30_000,
    );
    // Counted once the push's reply is sent (server) and received (client), a moment after the file is in place.
    const sm3 = await waitFor(async () => {
      const m = await scrape(sStatus);
      return total(m, "move_it_server_files_pushed_total") >= 7 ? m : undefined;
    }, "server pushes counted after reload");
    assert.equal(
      sample(sm3, "move_it_server_files_announced_total", { chain: "a" }).value,
      7,
    );
    assert.equal(
      sample(sm3, "move_it_server_files_pushed_total", {
        chain: "a",
        scheme: "file",
      }).value,
      7,
    );
    const cm3 = await waitFor(async () => {
      const m = await scrape(cStatus);
      return total(m, "move_it_client_files_delivered_total") >= 7
        ? m
        : undefined;
    }, "client deliveries counted after reload");
    assert.equal(
      total(cm3, "move_it_client_files_delivered_total", { chain: "c" }),
      7,
    );
    assert.equal(
      sample(cm3, "move_it_client_delivery_latency_seconds", {
        chain: "c",
        provider,
      }).count,
      7,
    );

    server.child.kill("SIGTERM");
    client.child.kill("SIGTERM");
    assert.equal(await server.exited, 0);
    assert.equal(await client.exited, 0);
  },
);
