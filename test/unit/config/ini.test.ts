import { test } from "node:test";
import assert from "node:assert/strict";

import { ConfigError } from "../../../src/errors.js";
import { parseIni } from "../../../src/config/ini.js";

function options(text: string, section = 0): Record<string, string> {
  const found = parseIni(text, "t.ini")[section];
  assert.ok(found, "section exists");
  return Object.fromEntries(found.options);
}

test("config/ini - keeps inline ; and # as part of the value (configparser has no inline comments)", () => {
  const opts = options(
    "[a]\ninfo = sensor=dummy;variant=ref\norigin = /x/{name}#1.dat ; not a comment\n",
  );
  assert.equal(opts.info, "sensor=dummy;variant=ref");
  assert.equal(opts.origin, "/x/{name}#1.dat ; not a comment");
});

test("config/ini - whole-line # and ; comments are skipped, also indented ones", () => {
  const opts = options(
    "# head\n; head\n[a]\n  # indented\nx = 1\n    ; indented inside\n",
  );
  assert.deepEqual(opts, { x: "1" });
});

test("config/ini - accepts key: value, the first = or : splits", () => {
  const opts = options(
    "[a]\norigin: /d/{series:_<6s}.x\ndestination = ftp://h/p\nk:v=w\n",
  );
  assert.deepEqual(opts, {
    origin: "/d/{series:_<6s}.x",
    destination: "ftp://h/p",
    k: "v=w",
  });
});

test("config/ini - option names are lowercased, section names keep their case", () => {
  const [section] = parseIni("[EumetCast]\nRemove_Delay = 5\n", "t.ini");
  assert.equal(section?.name, "EumetCast");
  assert.deepEqual(Object.fromEntries(section?.options ?? []), {
    remove_delay: "5",
  });
});

test("config/ini - keys and values are trimmed, empty values allowed", () => {
  assert.deepEqual(options("[a]\n   key   =    some value   \nempty =\n"), {
    key: "some value",
    empty: "",
  });
});

test("config/ini - indented lines continue the option, joined with newlines", () => {
  const text =
    "[a]\nproviders = h1:9010\n    h2:9010\n\n    h3:9010\n\nnext = 1\n";
  assert.deepEqual(options(text), {
    providers: "h1:9010\nh2:9010\n\nh3:9010",
    next: "1",
  });
});

test("config/ini - an option indented like its predecessor is a new option", () => {
  assert.deepEqual(options("[a]\n  x = 1\n  y = 2\n"), { x: "1", y: "2" });
});

test("config/ini - [DEFAULT] is inherited by every section, in Python's items() order", () => {
  const text =
    "[DEFAULT]\nstation = rx1\ndelete = false\n[a]\ntopic = /a\ndelete = true\n[b]\ntopic = /b\n";
  const sections = parseIni(text, "t.ini");
  assert.deepEqual(
    sections.map((s) => s.name),
    ["a", "b"],
  );
  assert.deepEqual(
    [...(sections[0]?.options ?? [])],
    [
      ["station", "rx1"],
      ["delete", "true"],
      ["topic", "/a"],
    ],
  );
  assert.deepEqual(Object.fromEntries(sections[1]?.options ?? []), {
    station: "rx1",
    delete: "false",
    topic: "/b",
  });
});

test("config/ini - keeps section order, also for integer-like and dotted names", () => {
  const names = parseIni("[z]\n[10]\n[eumetcast.hrit]\n[2]\n", "t.ini").map(
    (s) => s.name,
  );
  assert.deepEqual(names, ["z", "10", "eumetcast.hrit", "2"]);
});

test("config/ini - values stay strings: quotes, true/false, % and backslashes untouched", () => {
  const opts = options(
    '[a]\nq = "quoted"\nb = false\np = %Y%m%d\nw = C:\\tmp\\x\n',
  );
  assert.deepEqual(opts, {
    q: '"quoted"',
    b: "false",
    p: "%Y%m%d",
    w: "C:\\tmp\\x",
  });
});

test("config/ini - CRLF and CR line ends and a BOM are accepted", () => {
  assert.deepEqual(options("\uFEFF[a]\r\nx = 1\r\ny = 2\rz = 3"), {
    x: "1",
    y: "2",
    z: "3",
  });
});

test("config/ini - a line that is not an option is an error with its line number", () => {
  assert.throws(
    () => parseIni("[a]\nx = 1\njust words\n", "/etc/x.ini"),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.section === "a" &&
      /file \/etc\/x\.ini, section \[a\], value "just words": line 3: expected/.test(
        err.message,
      ),
  );
});

test("config/ini - an option before any section is an error", () => {
  assert.throws(
    () => parseIni("x = 1\n[a]\n", "t.ini"),
    /line 1: option before the first \[section\] header/,
  );
});

test("config/ini - repeated sections and options are errors (configparser strict mode)", () => {
  assert.throws(
    () => parseIni("[a]\n[b]\n[a]\n", "t.ini"),
    /section \[a\]: line 3: section already defined on line 1/,
  );
  assert.throws(
    () => parseIni("[a]\nX = 1\nx = 2\n", "t.ini"),
    /option x: line 3: option given twice/,
  );
});

test("config/ini - an empty section name is an error", () => {
  assert.throws(() => parseIni("[ ]\nx = 1\n", "t.ini"), /empty section name/);
});

test("config/ini - an empty file has no sections", () => {
  assert.deepEqual(parseIni("# nothing\n\n", "t.ini"), []);
});
