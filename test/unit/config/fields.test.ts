import { test } from "node:test";
import assert from "node:assert/strict";

import { ConfigError } from "../../../src/errors.js";
import {
  SectionReader,
  checkUniquePorts,
  deepFreeze,
  readBool,
  readHostPort,
  readInfo,
  readInt,
  readList,
  readNested,
  readPort,
  readScalar,
  readSeconds,
  readTopic,
  readUrl,
} from "../../../src/config/fields.js";

const at = { file: "/etc/x.ini", section: "eumetcast", option: "remove_delay" };

test("config/fields - the error names file, section, option and value", () => {
  assert.throws(
    () => readSeconds("soon", at),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.code === "EMOVEIT_CONFIG" &&
      err.option === "remove_delay" &&
      err.message ===
        'file /etc/x.ini, section [eumetcast], option remove_delay, value "soon": not a number of seconds',
  );
});

test("config/fields - an inline comment gets a hint", () => {
  assert.throws(
    () => readBool("false  # keep files", at),
    /part of it: put comments on their own line/,
  );
});

test("config/fields - seconds: non-negative decimals", () => {
  assert.equal(readSeconds("30", at), 30);
  assert.equal(readSeconds("0.5", at), 0.5);
  assert.equal(readSeconds("0", at), 0);
  assert.equal(readSeconds("1e3", at), 1000);
  for (const bad of [
    "",
    "-1",
    "soon",
    "30s",
    "Infinity",
    "NaN",
    "0x10",
    "1,5",
  ]) {
    assert.throws(() => readSeconds(bad, at), ConfigError, bad);
  }
});

test("config/fields - int: integers within bounds", () => {
  assert.equal(readInt("8", at, 1), 8);
  assert.equal(readInt("+3", at), 3);
  assert.throws(() => readInt("0", at, 1), /value "0": must be at least 1$/);
  assert.throws(() => readInt("11", at, 1, 10), /not between 1 and 10/);
  assert.throws(() => readInt("2.5", at), /not an integer/);
  assert.throws(() => readInt("eight", at), /not an integer/);
});

test("config/fields - bool: Python's words in any case", () => {
  for (const word of ["true", "True", "TRUE", "yes", "On", "1"])
    assert.equal(readBool(word, at), true, word);
  for (const word of ["false", "False", "no", "OFF", "0"])
    assert.equal(readBool(word, at), false, word);
  for (const bad of ["", "y", "2", "enabled"])
    assert.throws(() => readBool(bad, at), /not a boolean/, bad);
});

test("config/fields - list: whitespace (and commas when asked) separated", () => {
  assert.deepEqual(readList("  a b\n\tc  "), ["a", "b", "c"]);
  assert.deepEqual(readList("a, b,c d", true), ["a", "b", "c", "d"]);
  assert.deepEqual(readList("a,b"), ["a,b"]);
  assert.deepEqual(readList(""), []);
});

test("config/fields - port: 1..65535, 0 only when allowed", () => {
  assert.equal(readPort("9010", at), 9010);
  assert.equal(readPort("0", at, true), 0);
  assert.throws(() => readPort("0", at), /not a port number \(1\.\.65535\)/);
  assert.throws(
    () => readPort("65536", at, true),
    /not a port number \(0\.\.65535\)/,
  );
  assert.throws(() => readPort("90a", at), ConfigError);
});

test("config/fields - host:port, IPv6 in brackets", () => {
  assert.deepEqual(readHostPort("rx1.example.org:9010", at), {
    host: "rx1.example.org",
    port: 9010,
    address: "rx1.example.org:9010",
  });
  assert.deepEqual(readHostPort("[::1]:9010", at), {
    host: "::1",
    port: 9010,
    address: "[::1]:9010",
  });
  for (const bad of [
    "rx1",
    "::1:9010",
    "rx1:",
    ":9010",
    "rx1:0",
    "tcp://rx1:9010",
    "rx1:99999",
  ]) {
    assert.throws(() => readHostPort(bad, at), ConfigError, bad);
  }
});

test("config/fields - url: absolute path or scheme://, {field} patterns allowed", () => {
  const good = [
    "/data/out/",
    "file:///data/out/",
    "ftp://user:pw@h/x/{platform_name}/",
    "scp://h:22/d/{start_time:%Y%m%d}/",
  ];
  for (const url of good) assert.equal(readUrl(url, at), url);
  for (const bad of [
    "data/out",
    "",
    "ftp:/x",
    "/data/my out/",
    "http://[bad/",
  ]) {
    assert.throws(() => readUrl(bad, at), ConfigError, bad);
  }
});

test("config/fields - info: ordered pairs, comma values become trimmed lists", () => {
  assert.deepEqual(readInfo("sensor=dummy;variant=ref", at), [
    ["sensor", "dummy"],
    ["variant", "ref"],
  ]);
  assert.deepEqual(readInfo(" sensor = avhrr-3 ; channels=1, 2,3b; ", at), [
    ["sensor", "avhrr-3"],
    ["channels", ["1", "2", "3b"]],
  ]);
  assert.deepEqual(readInfo("a=1;b=2;a=3", at), [
    ["a", "3"],
    ["b", "2"],
  ]);
  assert.deepEqual(readInfo("url=http://h/?x=1", at), [
    ["url", "http://h/?x=1"],
  ]);
  assert.throws(() => readInfo("sensor", at), /"sensor" is not key=value/);
  assert.throws(() => readInfo("=x", at), /not key=value/);
});

test("config/fields - scalar: numbers, Python booleans, else strings", () => {
  assert.equal(readScalar("30"), 30);
  assert.equal(readScalar("2.5"), 2.5);
  assert.equal(readScalar("True"), true);
  assert.equal(readScalar("off"), false);
  assert.equal(readScalar("/home/u/.ssh/id"), "/home/u/.ssh/id");
});

test("config/fields - nested: double underscores nest, legacy names fold in", () => {
  const options = new Map([
    ["connection_parameters__connection_uptime", "60"],
    ["connection_parameters__ssh__timeout", "5"],
    ["connection_parameters__ssh__compress", "yes"],
    ["ssh_key_filename", "/k"],
    ["other", "x"],
  ]);
  const where = { file: "f", section: "s" };
  assert.deepEqual(
    readNested(options, "connection_parameters", where, ["ssh_key_filename"]),
    {
      ssh_key_filename: "/k",
      connection_uptime: 60,
      ssh: { timeout: 5, compress: true },
    },
  );
  const explicit = new Map([
    ["ssh_key_filename", "/old"],
    ["connection_parameters__ssh_key_filename", "/new"],
  ]);
  assert.deepEqual(
    readNested(explicit, "connection_parameters", where, ["ssh_key_filename"]),
    {
      ssh_key_filename: "/new",
    },
  );
  assert.deepEqual(readNested(new Map(), "connection_parameters", where), {});
});

test("config/fields - nested: conflicts and empty parts are errors", () => {
  const where = { file: "f", section: "s" };
  const clash = new Map([
    ["connection_parameters__a", "1"],
    ["connection_parameters__a__b", "2"],
  ]);
  assert.throws(
    () => readNested(clash, "connection_parameters", where),
    /option connection_parameters__a__b.*"a" is also given a plain value/,
  );
  const reverse = new Map([...clash].reverse());
  assert.throws(
    () => readNested(reverse, "connection_parameters", where),
    /"a" is also given nested values/,
  );
  const empty = new Map([["connection_parameters____proto__", "x"]]);
  assert.throws(
    () => readNested(empty, "connection_parameters", where),
    /empty name between double underscores/,
  );
});

test("config/fields - topic: no whitespace, empty only when allowed", () => {
  assert.equal(readTopic("/1b/hrit-segment/0deg", at), "/1b/hrit-segment/0deg");
  assert.equal(readTopic("", at, true), "");
  assert.throws(() => readTopic("", at), /must not be empty/);
  assert.throws(() => readTopic("/a b", at), /cannot contain whitespace/);
});

test("config/fields - unique ports: 0 and undefined never clash", () => {
  const free = [
    { name: "a", port: 0 },
    { name: "b", port: 0 },
    { name: "c", port: undefined },
    { name: "d", port: undefined },
  ];
  checkUniquePorts(free, "f", "p");
  assert.throws(
    () =>
      checkUniquePorts(
        [
          { name: "a", port: 9201 },
          { name: "b", port: 9201 },
        ],
        "f",
        "request_port",
      ),
    /section \[b\], option request_port, value "9201": port already used by section \[a\]/,
  );
});

test("config/fields - section reader: required, text, read with fallback, choice", () => {
  const options = new Map([
    ["origin", "/x/{name}"],
    ["empty", ""],
    ["compression", "XRIT"],
    ["remove_delay", "5"],
  ]);
  const section = new SectionReader("f.ini", { name: "s", line: 1, options });
  assert.equal(section.required("origin"), "/x/{name}");
  assert.throws(
    () => section.required("topic"),
    /file f\.ini, section \[s\], option topic: missing required option/,
  );
  assert.throws(
    () => section.required("empty"),
    /option empty, value "": must not be empty/,
  );
  assert.equal(section.text("empty"), undefined);
  assert.equal(section.read("remove_delay", readSeconds, 30), 5);
  assert.equal(section.read("watchdog_timeout", readSeconds, 1), 1);
  assert.equal(section.read("watchdog_timeout", readSeconds), undefined);
  assert.equal(section.choice("compression", ["xrit", "bzip"]), "xrit");
  assert.equal(
    section.choice("origin", ["xrit", "bzip"]),
    undefined,
    "a bad value is recorded, not thrown",
  );
  assert.equal(section.read("empty", readSeconds, 7), 7);
  assert.deepEqual(
    section.problems.map((e) => e.message),
    [
      'file f.ini, section [s], option origin, value "/x/{name}": not one of xrit, bzip',
      'file f.ini, section [s], option empty, value "": not a number of seconds',
    ],
  );
  assert.ok(
    section.asked.has("watchdog_timeout") &&
      section.asked.has("topic") &&
      !section.asked.has("other"),
  );
  assert.deepEqual(section.raw(), {
    origin: "/x/{name}",
    empty: "",
    compression: "XRIT",
    remove_delay: "5",
  });
});

test("config/fields - deepFreeze freezes nested objects and arrays", () => {
  const value = deepFreeze({ a: [{ b: 1 }], c: { d: ["e"] } });
  assert.ok(Object.isFrozen(value));
  assert.ok(Object.isFrozen(value.a));
  assert.ok(Object.isFrozen(value.a[0]));
  assert.ok(Object.isFrozen(value.c.d));
});
