import assert from "node:assert/strict";
import { test } from "node:test";
import { checkConfig, loadConfig } from "../../../src/config/index.js";
import { closest, editDistance } from "../../../src/config/problems.js";

test("config/problems - an unknown server option is a warning naming section, option and the closest known one", () => {
  const text =
    "[hrit]\norigin = /data/{name}.dat\ntopic = /hrit\nrequest_port = 9201\nreqest_address = 192.0.2.2\nflavour = mint\n";
  const cfg = loadConfig(text, "server", "s.ini");
  assert.equal(cfg.chains.length, 1);
  assert.deepEqual(
    cfg.warnings?.map((w) => w.message),
    [
      "file s.ini, section [hrit], option reqest_address: unknown option, ignored (did you mean request_address?)",
      "file s.ini, section [hrit], option flavour: unknown option, ignored",
    ],
  );
});

test("config/problems - every problem of every section is reported, each naming file, section, option and value", () => {
  const text = [
    "[a]",
    "origin = /data/{name.dat",
    "topic = /a",
    "request_port = 99999",
    "remove_delay = soon",
    "[b]",
    "origin = data/{name}.dat",
    "topic = /b",
    "[c]",
    "origin = /data/{name}.dat",
    "topic = /c",
    "compression = zip",
  ].join("\n");
  const { errors, chains } = checkConfig(text, "server", "s.ini");
  assert.deepEqual(chains, []);
  const messages = errors.map((e) => e.message);
  assert.equal(messages.length, 5, messages.join("\n"));
  assert.ok(
    messages.some((m) =>
      m.startsWith(
        'file s.ini, section [a], option origin, value "/data/{name.dat": not a valid pattern',
      ),
    ),
  );
  assert.ok(
    messages.some((m) =>
      m.startsWith(
        'file s.ini, section [a], option request_port, value "99999": not a port number',
      ),
    ),
  );
  assert.ok(
    messages.some((m) =>
      m.startsWith(
        'file s.ini, section [a], option remove_delay, value "soon"',
      ),
    ),
  );
  assert.ok(
    messages.some((m) =>
      m.startsWith(
        'file s.ini, section [b], option origin, value "data/{name}.dat": must be an absolute path',
      ),
    ),
  );
  assert.ok(
    messages.some((m) =>
      m.startsWith(
        'file s.ini, section [c], option compression, value "zip": not one of xrit, bzip',
      ),
    ),
  );
  assert.throws(
    () => loadConfig(text, "server", "s.ini"),
    (err: Error) => err.message.split("\n").length === 5,
  );
});

test("config/problems - a client destination with an unknown scheme or a broken pattern is an error", () => {
  const base = "[c]\nproviders = 127.0.0.1:9010\ntopic = /x\ndestination = ";
  assert.throws(
    () => loadConfig(`${base}gopher://host/dir/\n`, "client", "c.ini"),
    /option destination, value "gopher:\/\/host\/dir\/": unknown scheme "gopher:\/\/" \(known: file, ftp, scp, sftp, s3\)/,
  );
  assert.throws(
    () => loadConfig(`${base}/out/{platform/\n`, "client", "c.ini"),
    /option destination, value "\/out\/\{platform\/": not a valid pattern/,
  );
  assert.equal(
    loadConfig(`${base}SFTP://h/{platform}/\n`, "client", "c.ini").chains
      .length,
    1,
  );
});

test("config/problems - client leftovers are metadata rewrites, said once per section, with likely typos pointed out", () => {
  const text =
    "[c]\nproviders = 127.0.0.1:9010\ntopic = /x\ndestination = /out/\nplatform_name = NOAA19:noaa19\nheartbeat_alarm_scal = 5\n";
  const cfg = loadConfig(text, "client", "c.ini");
  assert.deepEqual(cfg.chains[0]!.metadataRewrites, [
    ["platform_name", "NOAA19:noaa19"],
    ["heartbeat_alarm_scal", "5"],
  ]);
  assert.equal(cfg.warnings?.length, 1);
  assert.equal(cfg.warnings?.[0]?.kind, "rewrites");
  assert.equal(
    cfg.warnings?.[0]?.message,
    "file c.ini, section [c]: options taken as metadata rewrites, as Python trollmoves does: platform_name, heartbeat_alarm_scal (did you mean heartbeat_alarm_scale?)",
  );
});

test("config/problems - unknown mirror options are warnings; known client and server ones are not", () => {
  const text =
    "[m]\nproviders = 127.0.0.1:9010\ndestination = /stage/\norigin = /stage/{name}\ntopic = /m\nrequest_port = 9300\nreq_timeout = 3\nprefetch = true\nprefech = false\n";
  const cfg = loadConfig(text, "mirror", "m.ini");
  assert.deepEqual(
    cfg.warnings?.map((w) => w.options),
    [["prefech"]],
  );
  assert.match(cfg.warnings?.[0]?.message ?? "", /did you mean prefetch\?/);
});

test("config/problems - closest() allows about one typo per three letters", () => {
  assert.equal(editDistance("reqest_address", "request_address"), 1);
  assert.equal(
    editDistance("orgiin", "origin"),
    1,
    "a swapped pair counts once",
  );
  assert.equal(closest("tpoic", ["topic", "origin"]), "topic");
  assert.equal(closest("colour", ["topic", "origin"]), undefined);
});

test("config/problems - an s3:// origin (a bucket to poll) is valid; one without bucket or pattern is an error", () => {
  const base = "[b]\ntopic = /b\nrequest_port = 9201\norigin = ";
  const ok = loadConfig(
    `${base}s3://bucket/incoming/{name}.dat\nconnection_parameters__endpoint_url = http://127.0.0.1:9000\n`,
    "server",
    "s.ini",
  );
  assert.equal(ok.chains[0]?.origin, "s3://bucket/incoming/{name}.dat");
  assert.deepEqual(ok.warnings ?? [], []);
  assert.throws(
    () => loadConfig(`${base}s3:///{name}.dat\n`, "server", "s.ini"),
    /option origin, value "s3:\/\/\/\{name\}.dat": an s3:\/\/ origin needs a bucket/,
  );
  assert.throws(
    () => loadConfig(`${base}s3://bucket/{name.dat\n`, "server", "s.ini"),
    /option origin, value "s3:\/\/bucket\/\{name.dat": not a valid pattern/,
  );
});
