import { test } from "node:test";
import assert from "node:assert/strict";

import { ConfigError } from "../../../src/errors.js";
import { loadConfig } from "../../../src/config/index.js";
import type { ServerChainConfig } from "../../../src/config/index.js";
import { DEFAULT_NETWORK_PARAMETERS } from "../../../src/config/connection-parameters.js";

const HRIT =
  "/data/eumetcast/in/H-000-{series:_<6s}-{platform_name:_<5s}_______-{channel:_<9s}-{segment:_<9s}-{nominal_time:%Y%m%d%H%M}-{compressed:_<2s}";

function chain(body: string): ServerChainConfig {
  const [only] = loadConfig(
    `[eumetcast]\n${body}`,
    "server",
    "/etc/x.ini",
  ).chains;
  assert.ok(only);
  return only;
}

function rejects(body: string, pattern: RegExp): void {
  assert.throws(
    () => loadConfig(`[eumetcast]\n${body}`, "server", "/etc/x.ini"),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, pattern);
      return true;
    },
  );
}

const MINIMAL = "origin = /data/in/{name}.dat\ntopic = /t\n";

test("config/server-config - defaults (docs/server.md)", () => {
  const c = chain(MINIMAL);
  assert.deepEqual(c, {
    kind: "server",
    name: "eumetcast",
    origin: "/data/in/{name}.dat",
    listen: undefined,
    topic: "/t",
    requestPort: undefined,
    requestAddress: undefined,
    info: [],
    station: "unknown",
    compression: undefined,
    prog: "xRITDecompress",
    workingDirectory: undefined,
    delete: false,
    removeDelay: 30,
    watchdogTimeout: 1,
    connectionParameters: {},
    network: DEFAULT_NETWORK_PARAMETERS,
    checksum: undefined,
    rescanInterval: 60,
    ledgerRetention: 604800,
    raw: { origin: "/data/in/{name}.dat", topic: "/t" },
  });
});

test("config/server-config - every option read", () => {
  const c = chain(
    [
      `origin = ${HRIT}`,
      "topic = /1b/hrit-segment/0deg",
      "request_port = 9093",
      "request_address = rx1.example.org",
      "info = sensor=seviri;variant=0DEG;channels=VIS006,IR_108",
      "station = rx1",
      "compression = xrit",
      "prog = /opt/xRITDecompress",
      "working_directory = /data/tmp",
      "delete = True",
      "remove_delay = 120",
      "watchdog_timeout = 0.5",
      "connection_parameters__connection_uptime = 60",
      "connection_parameters__ssh_key_filename = /home/u/.ssh/id",
      "checksum = SHA256",
    ].join("\n"),
  );
  assert.equal(c.origin, HRIT);
  assert.equal(c.requestPort, 9093);
  assert.equal(c.requestAddress, "rx1.example.org");
  assert.deepEqual(c.info, [
    ["sensor", "seviri"],
    ["variant", "0DEG"],
    ["channels", ["VIS006", "IR_108"]],
  ]);
  assert.equal(c.station, "rx1");
  assert.equal(c.compression, "xrit");
  assert.equal(c.prog, "/opt/xRITDecompress");
  assert.equal(c.workingDirectory, "/data/tmp");
  assert.equal(c.delete, true);
  assert.equal(c.removeDelay, 120);
  assert.equal(c.watchdogTimeout, 0.5);
  assert.deepEqual(c.connectionParameters, {
    connection_uptime: 60,
    ssh_key_filename: "/home/u/.ssh/id",
  });
  assert.equal(c.network.connectionUptime, 60);
  assert.equal(c.network.sshKeyFilename, "/home/u/.ssh/id");
  assert.equal(c.checksum, "sha256");
});

test("config/server-config - legacy top-level ssh_key_filename goes into connectionParameters", () => {
  const c = chain(`${MINIMAL}ssh_key_filename = /k\nconnection_uptime = 20\n`);
  assert.deepEqual(c.connectionParameters, {
    ssh_key_filename: "/k",
    connection_uptime: 20,
  });
});

test("config/server-config - the result is deeply frozen", () => {
  const loaded = loadConfig(
    `[a]\n${MINIMAL}info = a=1,2\nconnection_parameters__x__y = 1\n`,
    "server",
  );
  const c = loaded.chains[0];
  assert.ok(c);
  const parts = [
    loaded,
    loaded.chains,
    c,
    c.info,
    c.info[0],
    c.info[0]?.[1],
    c.raw,
  ];
  for (const part of [
    ...parts,
    c.connectionParameters,
    c.connectionParameters.x,
  ])
    assert.ok(Object.isFrozen(part));
  assert.throws(() => {
    (c as { topic: string }).topic = "/other";
  }, TypeError);
});

test("config/server-config - missing origin or topic", () => {
  rejects(
    "topic = /t\n",
    /file \/etc\/x\.ini, section \[eumetcast\], option origin: missing required option/,
  );
  rejects("origin = /x/{a}\n", /option topic: missing required option/);
  rejects(
    "origin = /x/{a}\ntopic =\n",
    /option topic, value "": must not be empty/,
  );
});

test("config/server-config - request_port 0 means any free port, and may repeat", () => {
  const { chains } = loadConfig(
    `[a]\n${MINIMAL}request_port = 0\n[b]\n${MINIMAL}request_port = 0\n`,
    "server",
  );
  assert.deepEqual(
    chains.map((c) => c.requestPort),
    [0, 0],
  );
});

test("config/server-config - bad values name the option and value", () => {
  rejects(
    `${MINIMAL}remove_delay = soon\n`,
    /option remove_delay, value "soon": not a number of seconds/,
  );
  rejects(
    `${MINIMAL}delete = maybe\n`,
    /option delete, value "maybe": not a boolean/,
  );
  rejects(
    `${MINIMAL}compression = gzip\n`,
    /option compression, value "gzip": not one of xrit, bzip/,
  );
  rejects(`${MINIMAL}compression = tar\n`, /not one of xrit, bzip/);
  rejects(
    `${MINIMAL}request_port = -1\n`,
    /option request_port, value "-1": not a port number \(0\.\.65535\)/,
  );
  rejects(`${MINIMAL}request_port = 70000\n`, /not a port number/);
  rejects(`${MINIMAL}watchdog_timeout = 0\n`, /must be more than 0 seconds/);
  rejects(`${MINIMAL}checksum = md5\n`, /not one of sha256/);
  rejects(
    `${MINIMAL}request_address = rx1:9093\n`,
    /give the host only: the port is request_port/,
  );
  rejects(`${MINIMAL}info = sensor\n`, /option info, value "sensor"/);
});

test("config/server-config - connection parameters are typed and checked at load, not at the first push", () => {
  const c = chain(
    `${MINIMAL}connection_parameters__connection_uptime = 2.5\nconnection_parameters__max_connections = 1\nconnection_parameters__accept_new_host_keys = Yes\nssh_connection_timeout = 3\n`,
  );
  assert.deepEqual(
    { ...c.network },
    {
      ...DEFAULT_NETWORK_PARAMETERS,
      connectionUptime: 2.5,
      maxConnections: 1,
      acceptNewHostKeys: true,
      sshConnectionTimeout: 3,
    },
  );
  rejects(
    `${MINIMAL}connection_parameters__connection_uptime = soon\n`,
    /file \/etc\/x\.ini, section \[eumetcast\], option connection_parameters__connection_uptime, value "soon": not a non-negative number of seconds/,
  );
  rejects(
    `${MINIMAL}connection_parameters__accept_new_host_keys = maybe\n`,
    /option connection_parameters__accept_new_host_keys, value "maybe": not a boolean/,
  );
  rejects(
    `${MINIMAL}connection_parameters__ftp_connection_timeout = -1\n`,
    /option connection_parameters__ftp_connection_timeout, value "-1"/,
  );
  rejects(
    `${MINIMAL}connection_parameters__known_hosts__x = 1\n`,
    /option connection_parameters__known_hosts, value "\(nested options\)": must be a single value/,
  );
  rejects(
    `${MINIMAL}connection_uptime = yes\n`,
    /option connection_parameters__connection_uptime, value "true"/,
  );
});

test("config/server-config - a section without request_port announces only", () => {
  assert.equal(chain(MINIMAL).requestPort, undefined);
});

test("config/server-config - an empty compression is no compression", () => {
  assert.equal(chain(`${MINIMAL}compression =\n`).compression, undefined);
});

test("config/server-config - the same request_port in two sections is an error", () => {
  const text = `[a]\n${MINIMAL}request_port = 9201\n[b]\n${MINIMAL}request_port = 9201\n`;
  assert.throws(
    () => loadConfig(text, "server", "s.ini"),
    /section \[b\], option request_port, value "9201": port already used by section \[a\]/,
  );
});

test("config/server-config - [DEFAULT] values and Python booleans apply per section", () => {
  const text = `[DEFAULT]\nstation = rx1\ndelete = yes\n[a]\n${MINIMAL}\n[b]\n${MINIMAL}DELETE = Off\n`;
  const [a, b] = loadConfig(text, "server").chains;
  assert.equal(a?.station, "rx1");
  assert.equal(a?.delete, true);
  assert.equal(b?.delete, false);
  assert.deepEqual(a?.raw, {
    station: "rx1",
    delete: "yes",
    origin: "/data/in/{name}.dat",
    topic: "/t",
  });
});

test("config/server-config - a listen section: trollmoves' options and their defaults", () => {
  const c = chain("listen = /up/data\ntopic = /relay\nrequest_port = 9100\n");
  assert.equal(c.origin, "");
  assert.deepEqual(c.listen, {
    topics: ["/up/data"],
    addresses: [],
    nameserver: "localhost",
    services: [""],
    addrListener: true,
    timeout: 10,
    translate: false,
  });
  const d = chain(
    "listen = /up/data\ntopics = /a /b\ntopic = /relay\nrequest_port = 9100\naddresses = tcp://127.0.0.1:9010 host2:9011\n" +
      "nameserver = tcp://ns.example.org:5600\nservices = move_it_hrit\naddr_listener = false\ntimeout = 2.5\ntranslate = True\n",
  );
  assert.deepEqual(d.listen, {
    topics: ["/a", "/b"],
    addresses: ["tcp://127.0.0.1:9010", "tcp://host2:9011"],
    nameserver: "tcp://ns.example.org:5600",
    services: ["move_it_hrit"],
    addrListener: false,
    timeout: 2.5,
    translate: true,
  });
  assert.equal(
    chain(
      "listen = /up\ntopic = /r\nrequest_port = 9100\naddresses = 127.0.0.1:9010\nnameserver = false\n",
    ).listen?.nameserver,
    false,
  );
});

test("config/server-config - a bad listen section names file, section, option and value", () => {
  const where = (option: string, value: string): RegExp =>
    new RegExp(
      `/etc/x\\.ini.*eumetcast.*${option}.*${value.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`,
    );
  rejects(
    "listen = /up\norigin = /in/{name}\ntopic = /r\nrequest_port = 9100\n",
    /listen.*not both/,
  );
  rejects(
    "listen = /up\ntopic = /r\n",
    /request_port.*missing required option/,
  );
  rejects(
    "listen = /up data\ntopic = /r\nrequest_port = 9100\n",
    where("listen", "/up data"),
  );
  rejects(
    "listen = /up\ntopic = /r\nrequest_port = 9100\naddresses = tcp://127.0.0.1\n",
    where("addresses", "tcp://127.0.0.1"),
  );
  rejects(
    "listen = /up\ntopic = /r\nrequest_port = 9100\nnameserver = false\n",
    /nameserver.*addresses must list/,
  );
  rejects(
    "listen = /up\ntopic = /r\nrequest_port = 9100\nnameserver = true\n",
    where("nameserver", "true"),
  );
  rejects(
    "listen = /up\ntopic = /r\nrequest_port = 9100\ntimeout = soon\n",
    where("timeout", "soon"),
  );
  rejects(
    "listen = /up\ntopic = /r\nrequest_port = 9100\ntranslate = maybe\n",
    where("translate", "maybe"),
  );
  rejects(
    "listen = /up\ntopic = /r\nrequest_port = 9100\naddr_listener = sometimes\n",
    where("addr_listener", "sometimes"),
  );
  rejects(
    "listen = /up\ntopic = /r\nrequest_port = 9100\ntopics = \n",
    /topics.*at least one topic/,
  );
});
