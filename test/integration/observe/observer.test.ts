import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test, type TestContext } from "node:test";
import { loadConfig } from "../../../src/config/index.js";
import { Observer } from "../../../src/observe/observer.js";
import { DateTime } from "../../../src/util/datetime.js";
import { captureLogger } from "../../helpers/log.js";
import { parseMetrics, sample } from "../../helpers/prom.js";
import { waitFor } from "../../helpers/wait.js";

/** A webhook receiver on 127.0.0.1 answering each POST with the next status of `statuses` (then 200). */
async function receiver(
  t: TestContext,
  statuses: number[] = [],
): Promise<{
  url: string;
  bodies: Array<Record<string, unknown>>;
  hits: () => number;
}> {
  const bodies: Array<Record<string, unknown>> = [];
  let hits = 0;
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      hits++;
      const status = statuses.shift() ?? 200;
      if (status === 200)
        bodies.push(JSON.parse(text) as Record<string, unknown>);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/services/T0/B0`,
    bodies,
    hits: () => hits,
  };
}

function clientConfig(url: string) {
  return loadConfig(
    `[c]\nproviders = 127.0.0.1:9\ndestination = /tmp/x/\ntopic = /t\nalert_url = ${url}\n`,
    "client",
    "c.ini",
  ).chains;
}

test("observe/observer - a file given up is alerted (Slack-compatible JSON POST), retried after a 500, and counted", async (t) => {
  const rx = await receiver(t, [500]);
  const { log, records } = captureLogger();
  const obs = new Observer({
    program: "move_it_client",
    version: "0.0.0",
    log,
    tickMs: 50,
  });
  t.after(() => obs.close());
  obs.configure(clientConfig(rx.url));
  // A round that failed and will be retried is counted, not alerted.
  obs.onClientEvent({
    type: "failed",
    chain: "c",
    uid: "H-000-MSG4.dat",
    providers: ["rx1:9010", "rx2:9010"],
    givenUp: false,
    error: "timeout",
  });
  obs.onClientEvent({
    type: "retried",
    chain: "c",
    uid: "H-000-MSG4.dat",
    attempts: 2,
  });
  obs.onClientEvent({
    type: "failed",
    chain: "c",
    uid: "H-000-MSG4.dat",
    providers: ["rx1:9010", "rx2:9010"],
    givenUp: true,
    error: "timeout",
  });
  const body = await waitFor(() => rx.bodies[0], "alert received");
  assert.equal(rx.hits(), 2, "one alert: first answered 500, then retried");
  assert.equal(
    body["text"],
    "[move_it_client] c: H-000-MSG4.dat given up: no provider could deliver it (timeout)",
  );
  assert.deepEqual(body["move_it"], {
    program: "move_it_client",
    kind: "file_given_up",
    chain: "c",
    uid: "H-000-MSG4.dat",
    providers: ["rx1:9010", "rx2:9010"],
    error: "timeout",
  });
  await waitFor(
    () => records.find((r) => r.msg === "alert sent"),
    "alert sent logged",
  );
  const m = parseMetrics(await obs.metrics.text());
  assert.equal(
    sample(m, "move_it_client_files_failed_total", { chain: "c" }).value,
    2,
  );
  assert.equal(
    sample(m, "move_it_client_files_given_up_total", { chain: "c" }).value,
    1,
  );
  assert.equal(
    sample(m, "move_it_client_retries_total", { chain: "c" }).value,
    1,
  );
});

test("observe/observer - totals are kept per chain name across configure() (a reload)", async (t) => {
  const { log } = captureLogger();
  const obs = new Observer({
    program: "move_it_client",
    version: "0.0.0",
    log,
  });
  t.after(() => obs.close());
  const deliver = (uid: string): void =>
    obs.onClientEvent({
      type: "delivered",
      chain: "c",
      provider: "rx1:9010",
      scheme: "file",
      uid,
      uri: `/x/${uid}`,
      localPath: undefined,
      announcedAt: Date.now() - 2000,
      deliveredAt: Date.now(),
      data: {
        start_time: DateTime.fromDate(new Date(Date.now() - 3_600_000)),
        filesize: 10,
      },
    });
  obs.configure(clientConfig("http://127.0.0.1:9/x"));
  deliver("a");
  obs.configure(
    loadConfig(
      "[c]\nproviders = 127.0.0.1:9\ndestination = /tmp/y/\ntopic = /t\n",
      "client",
      "c.ini",
    ).chains,
  );
  deliver("b");
  const m = parseMetrics(await obs.metrics.text());
  assert.equal(
    sample(m, "move_it_client_files_delivered_total", {
      chain: "c",
      provider: "rx1:9010",
      scheme: "file",
    }).value,
    2,
  );
  await waitFor(
    async () =>
      sample(
        parseMetrics(await obs.metrics.text()),
        "move_it_client_delivered_bytes_total",
        { chain: "c" },
      ).value === 20,
    "bytes from filesize",
  );
  const lat = sample(m, "move_it_client_delivery_latency_seconds", {
    chain: "c",
    provider: "rx1:9010",
  });
  assert.equal(lat.count, 2);
  assert.equal(lat.buckets?.["1"], 0);
  assert.equal(lat.buckets?.["2.5"], 2);
  const age = sample(m, "move_it_client_file_age_seconds", { chain: "c" });
  assert.equal(age.buckets?.["2700"], 0);
  assert.equal(age.buckets?.["5400"], 2);
  assert.equal(
    sample(m, "move_it_info", { program: "move_it_client", version: "0.0.0" })
      .value,
    1,
  );
});
