import { test } from "node:test";
import assert from "node:assert/strict";

import { ConfigError } from "../../../src/errors.js";
import { loadConfig } from "../../../src/config/index.js";
import type { ClientChainConfig } from "../../../src/config/index.js";

const MINIMAL =
  "providers = rx1:9010\ndestination = file:///data/out/\ntopic = /t\n";

function chain(body: string): ClientChainConfig {
  const [only] = loadConfig(`[hrit]\n${body}`, "client", "c.ini").chains;
  assert.ok(only);
  return only;
}

function rejects(body: string, pattern: RegExp): void {
  assert.throws(
    () => loadConfig(`[hrit]\n${body}`, "client", "c.ini"),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test("config/client-config - defaults (docs/client.md)", () => {
  assert.deepEqual(chain(MINIMAL), {
    kind: "client",
    name: "hrit",
    providers: [
      { host: "rx1", port: 9010, topic: undefined, address: "rx1:9010" },
    ],
    destination: "file:///data/out/",
    login: undefined,
    topic: "/t",
    publishPort: 0,
    nameservers: undefined,
    heartbeat: true,
    heartbeatAlarmScale: undefined,
    processingDelay: undefined,
    backupTargets: undefined,
    createTargetDirectory: true,
    compression: undefined,
    xritdecompressor: undefined,
    delete: false,
    reqTimeout: 1,
    transferReqTimeout: 10,
    maxConcurrentTransfers: 32,
    verifyChecksum: true,
    maxRetryAge: 86_400,
    ledgerRetention: 604_800,
    catchUpWindow: 3600,
    expected: undefined,
    alerts: undefined,
    metadataRewrites: [],
    raw: {
      providers: "rx1:9010",
      destination: "file:///data/out/",
      topic: "/t",
    },
  });
});

test("config/client-config - every option read", () => {
  const c = chain(
    [
      "providers = rx1.example.org:9010 [::1]:9011/1b/hrit",
      "   10.0.0.3:9012",
      "destination = scp://proc01/data/{platform_name}/",
      "login = satman:secret",
      "topic = /1b/hrit-segment/0deg",
      "publish_port = 9030",
      "nameservers = ns1 ns2",
      "heartbeat = no",
      "heartbeat_alarm_scale = 10",
      "processing_delay = 2.5",
      "backup_targets = proc02, proc03 proc04",
      "create_target_directory = False",
      "compression = Tar",
      "xritdecompressor = /opt/xRITDecompress",
      "delete = 1",
      "req_timeout = 2",
      "transfer_req_timeout = 30",
      "max_concurrent_transfers = 16",
      "verify_checksum = off",
      "connection_parameters__connection_uptime = 5",
    ].join("\n"),
  );
  assert.deepEqual(c.providers, [
    {
      host: "rx1.example.org",
      port: 9010,
      topic: undefined,
      address: "rx1.example.org:9010",
    },
    { host: "::1", port: 9011, topic: "/1b/hrit", address: "[::1]:9011" },
    {
      host: "10.0.0.3",
      port: 9012,
      topic: undefined,
      address: "10.0.0.3:9012",
    },
  ]);
  assert.equal(c.destination, "scp://proc01/data/{platform_name}/");
  assert.equal(c.login, "satman:secret");
  assert.equal(c.publishPort, 9030);
  assert.deepEqual(c.nameservers, ["ns1", "ns2"]);
  assert.equal(c.heartbeat, false);
  assert.equal(c.heartbeatAlarmScale, 10);
  assert.equal(c.processingDelay, 2.5);
  assert.deepEqual(c.backupTargets, ["proc02", "proc03", "proc04"]);
  assert.equal(c.createTargetDirectory, false);
  assert.equal(c.compression, "tar");
  assert.equal(c.xritdecompressor, "/opt/xRITDecompress");
  assert.equal(c.delete, true);
  assert.equal(c.reqTimeout, 2);
  assert.equal(c.transferReqTimeout, 30);
  assert.equal(c.maxConcurrentTransfers, 16);
  assert.equal(c.verifyChecksum, false);
  assert.deepEqual(c.metadataRewrites, []);
});

test("config/client-config - unknown options are metadata rewrites, in order, values raw", () => {
  const c = chain(
    MINIMAL +
      "platform_name = MSG1:Meteosat-8|MSG2:Meteosat-9|MSG3:Meteosat-10|MSG4:Meteosat-11\n" +
      "sensor = seviri\n" +
      "ssh_key_filename = /k\n",
  );
  assert.deepEqual(c.metadataRewrites, [
    [
      "platform_name",
      "MSG1:Meteosat-8|MSG2:Meteosat-9|MSG3:Meteosat-10|MSG4:Meteosat-11",
    ],
    ["sensor", "seviri"],
    ["ssh_key_filename", "/k"],
  ]);
});

test("config/client-config - nameservers = false (any case) is false", () => {
  assert.equal(chain(`${MINIMAL}nameservers = False\n`).nameservers, false);
  assert.equal(chain(`${MINIMAL}nameservers = no\n`).nameservers, false);
  assert.deepEqual(chain(`${MINIMAL}nameservers =\n`).nameservers, []);
  assert.equal(chain(`${MINIMAL}nameservers = true\n`).nameservers, undefined);
});

test("config/client-config - an empty topic subscribes to everything", () => {
  assert.equal(
    chain("providers = rx1:9010\ndestination = /data/out/\ntopic =\n").topic,
    "",
  );
});

test("config/client-config - missing and bad options", () => {
  rejects(
    "destination = /d/\ntopic = /t\n",
    /section \[hrit\], option providers: missing required option/,
  );
  rejects(
    "providers = rx1:9010\ntopic = /t\n",
    /option destination: missing required option/,
  );
  rejects(
    "providers = rx1:9010\ndestination = /d/\n",
    /option topic: missing required option/,
  );
  rejects(
    MINIMAL.replace("rx1:9010", "rx1"),
    /option providers, value "rx1": not host:port/,
  );
  rejects(
    MINIMAL.replace("rx1:9010", "rx1:9010 rx1:9010"),
    /provider rx1:9010 is listed twice/,
  );
  rejects(
    MINIMAL.replace("file:///data/out/", "data/out"),
    /option destination, value "data\/out": not an absolute path nor a URL/,
  );
  rejects(
    `${MINIMAL}publish_port = -1\n`,
    /option publish_port, value "-1": not a port number \(0\.\.65535\)/,
  );
  rejects(
    `${MINIMAL}heartbeat = sometimes\n`,
    /option heartbeat, value "sometimes": not a boolean/,
  );
  rejects(
    `${MINIMAL}compression = zip\n`,
    /option compression, value "zip": not one of xrit, tar, bzip/,
  );
  rejects(
    `${MINIMAL}req_timeout = 0\n`,
    /option req_timeout, value "0": must be more than 0 seconds/,
  );
  rejects(`${MINIMAL}transfer_req_timeout = ten\n`, /not a number of seconds/);
  rejects(
    `${MINIMAL}max_concurrent_transfers = 0\n`,
    /option max_concurrent_transfers, value "0": must be at least 1/,
  );
  rejects(`${MINIMAL}heartbeat_alarm_scale = 0\n`, /must be more than 0/);
  rejects(
    `${MINIMAL}processing_delay = later\n`,
    /option processing_delay, value "later": not a number of seconds/,
  );
});

test("config/client-config - the same non-zero publish_port twice is an error, 0 twice is fine", () => {
  const two = (port: number): string =>
    `[a]\n${MINIMAL}publish_port = ${port}\n[b]\n${MINIMAL}publish_port = ${port}\n`;
  assert.equal(loadConfig(two(0), "client").chains.length, 2);
  assert.throws(
    () => loadConfig(two(9030), "client"),
    /section \[b\], option publish_port, value "9030": port already used by section \[a\]/,
  );
});

test("config/client-config - the result is deeply frozen", () => {
  const c = chain(`${MINIMAL}backup_targets = a b\nx = y\n`);
  const parts = [
    c,
    c.providers,
    c.providers[0],
    c.backupTargets,
    c.metadataRewrites,
    c.metadataRewrites[0],
    c.raw,
  ];
  for (const part of parts) assert.ok(Object.isFrozen(part));
});
