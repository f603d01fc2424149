import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Metrics } from "../../../src/observe/metrics.js";
import { REPO } from "../../helpers/procs.js";
import { parseMetrics, sample } from "../../helpers/prom.js";

test("observe/metrics - every metric the Grafana dashboard queries exists, by its exact name", async () => {
  const m = new Metrics("move_it_mirror", "1.2.3", {
    client: () => ({
      chains: {},
      ledger: {
        pendingWrites: 0,
        writeErrors: 0,
        commits: 0,
        changesCommitted: 0,
      },
    }),
    server: () => ({}),
  });
  const known = parseMetrics(await m.text());
  const dashboard = readFileSync(join(REPO, "grafana", "move_it.json"), "utf8");
  const used = new Set(
    [...dashboard.matchAll(/\b((?:move_it|process|nodejs)_[a-z0-9_]+)/g)].map(
      (x) => x[1]!,
    ),
  );
  assert.ok(used.size > 15, [...used].join(" "));
  const missing = [...used].filter(
    (name) =>
      !known.has(name) && !known.has(name.replace(/_(bucket|sum|count)$/, "")),
  );
  assert.deepEqual(missing, []);
});

test("observe/metrics - server and client events counted under conventional names", async () => {
  const m = new Metrics("move_it_mirror", "1.2.3", {});
  m.server({
    type: "pushed",
    chain: "hrit",
    scheme: "sftp",
    bytes: 1000,
    seconds: 0.3,
    joined: false,
  });
  m.server({
    type: "pushed",
    chain: "hrit",
    scheme: "sftp",
    bytes: 0,
    seconds: 0.01,
    joined: true,
  });
  m.server({ type: "request", chain: "hrit", request: "push" });
  m.client({
    type: "pushed",
    chain: "hrit",
    provider: "rx1:9010",
    scheme: "sftp",
    seconds: 4,
    ok: false,
  });
  m.client({ type: "failover", chain: "hrit", provider: "rx2:9010" });
  m.client({ type: "retried", chain: "hrit", uid: "a.dat", attempts: 1 });
  m.client({ type: "acked", chain: "hrit", provider: "rx1:9010", ok: true });
  m.client({ type: "heartbeat", chain: "hrit", provider: "rx1:9010" });
  const f = parseMetrics(await m.text());
  assert.equal(
    sample(f, "move_it_server_files_pushed_total", {
      chain: "hrit",
      scheme: "sftp",
    }).value,
    2,
  );
  assert.equal(
    sample(f, "move_it_server_pushes_joined_total", { chain: "hrit" }).value,
    1,
  );
  assert.equal(
    sample(f, "move_it_server_sent_bytes_total", {
      chain: "hrit",
      scheme: "sftp",
    }).value,
    1000,
  );
  const d = sample(f, "move_it_server_push_duration_seconds", {
    chain: "hrit",
    scheme: "sftp",
  });
  assert.deepEqual(
    [d.count, d.buckets?.["0.01"], d.buckets?.["0.25"], d.buckets?.["0.5"]],
    [2, 1, 1, 2],
  );
  assert.equal(
    sample(f, "move_it_client_push_requests_total", { outcome: "failure" })
      .value,
    1,
  );
  assert.equal(
    sample(f, "move_it_client_failovers_total", { provider: "rx2:9010" }).value,
    1,
  );
  assert.equal(
    sample(f, "move_it_client_retries_total", { chain: "hrit" }).value,
    1,
  );
  assert.equal(
    sample(f, "move_it_client_acks_total", { outcome: "success" }).value,
    1,
  );
  assert.equal(
    sample(f, "move_it_client_heartbeats_total", { provider: "rx1:9010" })
      .value,
    1,
  );
  assert.equal(
    f.get("move_it_client_push_duration_seconds")?.samples.length,
    0,
    "failed pushes are not timed",
  );
  assert.equal(f.get("move_it_server_requests_total")?.type, "counter");
  assert.equal(sample(f, "move_it_info").labels["version"], "1.2.3");
});

test("observe/metrics - ledger write errors are counters read from the ledgers, catch-up passes counted by outcome", async () => {
  let errors = 0;
  const m = new Metrics("move_it_mirror", "1.2.3", {
    client: () => ({
      chains: {},
      ledger: {
        pendingWrites: 4,
        writeErrors: errors,
        commits: 7,
        changesCommitted: 30,
      },
    }),
    server: () => ({}),
    serverLedger: () => ({
      pendingWrites: 0,
      writeErrors: 2,
      commits: 5,
      changesCommitted: 11,
    }),
  });
  errors = 3;
  m.client({
    type: "catchup",
    chain: "hrit",
    provider: "rx1:9010",
    address: "rx1:9011",
    outcome: "answered",
    announcements: 12,
  });
  m.client({
    type: "catchup",
    chain: "hrit",
    provider: "rx2:9010",
    address: "rx2:9011",
    outcome: "unsupported",
    announcements: 0,
  });
  const f = parseMetrics(await m.text());
  assert.equal(
    f.get("move_it_client_ledger_write_errors_total")?.type,
    "counter",
  );
  assert.equal(sample(f, "move_it_client_ledger_write_errors_total").value, 3);
  assert.equal(sample(f, "move_it_client_ledger_pending_writes").value, 4);
  assert.equal(sample(f, "move_it_server_ledger_write_errors_total").value, 2);
  assert.equal(f.get("move_it_client_ledger_commits_total")?.type, "counter");
  assert.equal(sample(f, "move_it_client_ledger_commits_total").value, 7);
  assert.equal(sample(f, "move_it_client_ledger_changes_total").value, 30);
  assert.equal(sample(f, "move_it_server_ledger_commits_total").value, 5);
  assert.equal(sample(f, "move_it_server_ledger_changes_total").value, 11);
  assert.equal(
    sample(f, "move_it_client_catchup_requests_total", {
      provider: "rx1:9010",
      outcome: "answered",
    }).value,
    1,
  );
  assert.equal(
    sample(f, "move_it_client_catchup_requests_total", {
      provider: "rx2:9010",
      outcome: "unsupported",
    }).value,
    1,
  );
  assert.equal(
    sample(f, "move_it_client_catchup_announcements_total", {
      provider: "rx1:9010",
    }).value,
    12,
  );
});

test("observe/metrics - the per-file series keep each label set apart (children made once per set)", async () => {
  const m = new Metrics("move_it_client", "1.2.3", {});
  const at = Date.parse("2026-12-02T10:00:00Z");
  const delivered = (chain: string, provider: string, scheme: string) =>
    m.client({
      type: "delivered",
      chain,
      provider,
      scheme,
      uid: "a.dat",
      uri: "/x/a.dat",
      localPath: undefined,
      announcedAt: at,
      deliveredAt: at + 2000,
      data: {},
    });
  delivered("hrit", "rx1:9010", "file");
  delivered("hrit", "rx1:9010", "file");
  delivered("hrit", "rx2:9010", "file");
  delivered("avhrr", "rx1:9010", "sftp");
  m.bytesDelivered({ chain: "hrit", provider: "rx2:9010", scheme: "file" }, 7);
  m.bytesDelivered({ chain: "hrit", provider: "rx2:9010", scheme: "file" }, 5);
  m.server({ type: "announced", chain: "hrit" });
  m.server({ type: "announced", chain: "avhrr" });
  m.server({ type: "announced", chain: "avhrr" });
  m.server({ type: "request", chain: "hrit", request: "ping" });
  m.server({ type: "request", chain: "hrit", request: "push" });
  m.server({ type: "request", chain: "hrit", request: "push" });
  const f = parseMetrics(await m.text());
  const count = (name: string, labels: Record<string, string>) =>
    sample(f, name, labels).value;
  const D = "move_it_client_files_delivered_total";
  assert.equal(
    count(D, { chain: "hrit", provider: "rx1:9010", scheme: "file" }),
    2,
  );
  assert.equal(
    count(D, { chain: "hrit", provider: "rx2:9010", scheme: "file" }),
    1,
  );
  assert.equal(
    count(D, { chain: "avhrr", provider: "rx1:9010", scheme: "sftp" }),
    1,
  );
  assert.equal(f.get(D)?.samples.length, 3);
  assert.equal(
    count("move_it_client_delivered_bytes_total", {
      chain: "hrit",
      provider: "rx2:9010",
      scheme: "file",
    }),
    12,
  );
  const latency = sample(f, "move_it_client_delivery_latency_seconds", {
    chain: "hrit",
    provider: "rx1:9010",
  });
  assert.equal(latency.count, 2);
  assert.equal(
    count("move_it_server_files_announced_total", { chain: "avhrr" }),
    2,
  );
  assert.equal(
    count("move_it_server_requests_total", { chain: "hrit", type: "push" }),
    2,
  );
  assert.equal(
    count("move_it_server_requests_total", { chain: "hrit", type: "ping" }),
    1,
  );
});
