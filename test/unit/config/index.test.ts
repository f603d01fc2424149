import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { ConfigError } from "../../../src/errors.js";
import { loadConfig } from "../../../src/config/index.js";

// Compiled to dist/test/unit/config/: the repository root is four levels up.
const root = new URL("../../../../", import.meta.url);

function read(path: string): string {
  return readFileSync(new URL(path, root), "utf8");
}

test("config/index - config-examples/move_it_server.ini loads", () => {
  const loaded = loadConfig(
    read("config-examples/move_it_server.ini"),
    "server",
    "move_it_server.ini",
  );
  assert.equal(loaded.file, "move_it_server.ini");
  assert.deepEqual(
    loaded.chains.map((c) => c.name),
    ["hrit_0deg", "avhrr_l1b_eps", "tellicast_logs", "ref", "ref_dt"],
  );
  const [hrit, eps, logs, ref] = loaded.chains;
  assert.equal(
    hrit?.origin,
    "/data/eumetcast/in/H-000-{series:_<6s}-{platform_name:_<5s}_______-{channel:_<9s}-{segment:_<9s}-{nominal_time:%Y%m%d%H%M}-{compressed:_<2s}",
  );
  assert.equal(hrit?.compression, "xrit");
  assert.equal(hrit?.requestAddress, "eumetcast-rx1.example.org");
  assert.deepEqual(hrit?.connectionParameters, {
    ssh_key_filename: "/home/satman/.ssh/id_ed25519",
    connection_uptime: 60,
  });
  assert.equal(eps?.compression, "bzip");
  assert.equal(logs?.requestPort, undefined);
  assert.equal(ref?.requestAddress, "127.0.0.1");
});

test("config/index - config-examples/move_it_client.ini loads", () => {
  const loaded = loadConfig(
    read("config-examples/move_it_client.ini"),
    "client",
    "move_it_client.ini",
  );
  const hrit = loaded.chains.find((c) => c.name === "hrit_0deg");
  assert.deepEqual(
    hrit?.providers.map((p) => p.address),
    ["eumetcast-rx1.example.org:9010", "eumetcast-rx2.example.org:9010"],
  );
  assert.deepEqual(hrit?.metadataRewrites, [
    [
      "platform_name",
      "MSG1:Meteosat-8|MSG2:Meteosat-9|MSG3:Meteosat-10|MSG4:Meteosat-11",
    ],
  ]);
  assert.equal(hrit?.nameservers, false);
  assert.equal(hrit?.heartbeatAlarmScale, 10);
});

test("config/index - config-examples/move_it_mirror.ini loads", () => {
  const loaded = loadConfig(
    read("config-examples/move_it_mirror.ini"),
    "mirror",
    "move_it_mirror.ini",
  );
  assert.deepEqual(
    loaded.chains.map((c) => [c.name, c.server.requestPort, c.client.topic]),
    [
      ["hrit_0deg", 9093, "/1b/hrit-segment/0deg"],
      ["mirror", 9203, "/ref/test"],
    ],
  );
});

test("config/index - the captured server configs load as the reference read them", () => {
  const server = loadConfig(
    read("test/fixtures/captures-server.ini"),
    "server",
  );
  const [ref, refDt] = server.chains;
  assert.deepEqual(ref?.info, [
    ["sensor", "dummy"],
    ["variant", "ref"],
  ]);
  assert.equal(ref?.requestPort, 9201);
  assert.equal(ref?.delete, false);
  assert.equal(
    refDt?.origin,
    "/data/e2e/in/{platform_name}_{start_time:%Y%m%dT%H%M%S}.bin",
  );
  assert.equal(refDt?.station, "refstation");
  assert.equal(refDt?.delete, true);
  assert.equal(refDt?.removeDelay, 5);
  assert.equal(
    loadConfig(read("test/fixtures/captures-server2.ini"), "server").chains[0]
      ?.requestPort,
    9211,
  );
});

test("config/index - the captured client and mirror configs load", () => {
  const client = loadConfig(
    read("test/fixtures/captures-client.ini"),
    "client",
  );
  assert.deepEqual(
    client.chains.map((c) => [c.name, c.topic, c.publishPort, c.nameservers]),
    [
      ["ref", "/ref/test", 9020, false],
      ["ref_dt", "/ref/dt", 9021, false],
    ],
  );
  const login = loadConfig(
    read("test/fixtures/captures-client_l.ini"),
    "client",
  ).chains[0];
  assert.deepEqual(
    login?.providers.map((p) => p.port),
    [9010, 9011],
  );
  assert.equal(login?.login, "user:secret");
  assert.equal(login?.heartbeatAlarmScale, 10);
  assert.equal(
    loadConfig(read("test/fixtures/captures-client_m.ini"), "client").chains[0]
      ?.providers[0]?.port,
    9012,
  );
  const mirror = loadConfig(read("test/fixtures/captures-mirror.ini"), "mirror")
    .chains[0];
  assert.equal(mirror?.client.topic, "/ref/test");
  assert.equal(mirror?.server.requestPort, 9203);
  assert.equal(mirror?.server.delete, true);
});

test("config/index - without a file name, errors say <config>", () => {
  assert.throws(
    () => loadConfig("[a]\ntopic = /t\n", "server"),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.file, "<config>");
      assert.match(
        err.message,
        /^file <config>, section \[a\], option origin: missing required option$/,
      );
      return true;
    },
  );
});

test("config/index - an empty file is an error: nothing would run", () => {
  assert.throws(
    () => loadConfig("# nothing yet\n", "client", "c.ini"),
    /file c\.ini: no \[section\] in the file: nothing to run/,
  );
});

test("config/index - a Python-style file with every compatibility feature", () => {
  const text = [
    "[DEFAULT]",
    "Station: rx1",
    "[eumetcast]",
    "ORIGIN: /in/{name}.dat",
    "topic = /t",
    "info = sensor=dummy;variant=ref",
    "delete = True",
    "    ; a comment inside the section",
    "request_port = 9201",
    "",
  ].join("\r\n");
  const [c] = loadConfig(text, "server").chains;
  assert.equal(c?.station, "rx1");
  assert.equal(c?.origin, "/in/{name}.dat");
  assert.deepEqual(c?.info, [
    ["sensor", "dummy"],
    ["variant", "ref"],
  ]);
  assert.equal(c?.delete, true);
  assert.equal(c?.requestPort, 9201);
});
