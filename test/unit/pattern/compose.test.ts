import assert from "node:assert/strict";
import { test } from "node:test";
import { PatternError } from "../../../src/errors.js";
import { compose, parse } from "../../../src/pattern/index.js";
import { formatValue, groupDigits } from "../../../src/pattern/pyformat.js";
import { DateTime } from "../../../src/util/datetime.js";
import { PyFloat } from "../../../src/util/pyfloat.js";
import { decodeRecord, vectors } from "./vectors.js";

// Expected strings were checked against trollsift 0.5.0 / CPython 3.11 `format()`.

test("pattern/compose - every trollsift 0.5.0 compose vector", () => {
  const cases = vectors().compose;
  assert.ok(cases.length >= 7);
  for (const c of cases)
    assert.equal(compose(c.pattern, decodeRecord(c.data)), c.string, c.pattern);
});

test("pattern/compose - parse(compose(x)) round-trips the vectors", () => {
  for (const c of vectors().compose) {
    const text = compose(c.pattern, decodeRecord(c.data));
    assert.equal(compose(c.pattern, parse(c.pattern, text)), text, c.pattern);
  }
});

test("pattern/compose - a missing key throws PatternError naming it", () => {
  assert.throws(
    () => compose("{a}_{missing:03d}", { a: 1 }),
    (err: unknown) => {
      assert.ok(err instanceof PatternError);
      assert.match(err.message, /'missing'/);
      return true;
    },
  );
  assert.throws(
    () => compose("{a}", { a: undefined }),
    PatternError,
    "undefined counts as missing",
  );
});

test("pattern/compose - allowPartial leaves missing fields as written", () => {
  assert.equal(
    compose("{a:%Y%m%d}_{b:03d}_{c}", { b: 5 }, { allowPartial: true }),
    "{a:%Y%m%d}_005_{c}",
  );
  assert.equal(
    compose("{x!u:>5}/{y}", { y: "z" }, { allowPartial: true }),
    "{x!u:>5}/z",
  );
  const partial = compose(
    "/out/{platform}/{time:%Y%m%d}/",
    { platform: "n19" },
    { allowPartial: true },
  );
  assert.equal(
    compose(partial, { time: new DateTime({ year: 2024, month: 1, day: 2 }) }),
    "/out/n19/20240102/",
  );
});

test("pattern/compose - datetimes: DateTime and Date through strftime, str() without a spec", () => {
  const dt = new DateTime({
    year: 2024,
    month: 1,
    day: 2,
    hour: 3,
    minute: 4,
    second: 5,
    microsecond: 6,
  });
  assert.equal(
    compose("{t:%Y%j}|{t}", { t: dt }),
    "2024002|2024-01-02 03:04:05.000006",
  );
  assert.equal(
    compose("{t:%Y/%m/%d %H:%M}", {
      t: new Date(Date.UTC(2024, 10, 22, 12, 5)),
    }),
    "2024/11/22 12:05",
  );
  assert.equal(
    compose("{a:>10}|{a:%d/%m}", {
      a: new DateTime({ year: 2024, month: 1, day: 2 }),
    }),
    ">10|02/01",
  );
});

test("pattern/compose - trollsift's conversions and Python's !r !s !a", () => {
  const data = {
    a: "abc",
    b: "ABC",
    c: "hELLO wORLD",
    d: "they're bill's-x",
    e: "a-b_c:d e",
    f: "A-B_C",
    g: "a-b c",
  };
  assert.equal(
    compose("{a!u}_{b!l}_{c!c}_{d!t}_{e!R}_{f!h}_{g!H}", data),
    "ABC_abc_Hello world_They'Re Bill'S-X_abcde_abc_ABC",
  );
  const repr = compose("{a!r}|{b!s}|{c!a}|{d!r}", {
    a: "it's",
    b: new PyFloat(3),
    c: "héllo",
    d: new DateTime({ year: 2024, month: 1, day: 2, hour: 3, minute: 4 }),
  });
  assert.equal(
    repr,
    `"it's"|3.0|'h\\xe9llo'|datetime.datetime(2024, 1, 2, 3, 4)`,
  );
  assert.throws(
    () => compose("{a!z}", { a: "x" }),
    /Unknown conversion specifier z/,
  );
  assert.throws(() => compose("{a!u}", { a: 5 }), PatternError);
});

test("pattern/compose - str() of other values", () => {
  const text = compose("{a}|{b}|{c}|{d}|{e}|{f}", {
    a: null,
    b: true,
    c: 1.5,
    d: [1, "x", new PyFloat(2)],
    e: { k: 1 },
    f: 12n,
  });
  assert.equal(text, "None|True|1.5|[1, 'x', 2.0]|{'k': 1}|12");
});

test("pattern/compose - nested specs, escaped braces, indexes", () => {
  assert.equal(
    compose("{a:{w}d}|{b:{f}<{w}}", { a: 5, w: 4, b: "x", f: "*" }),
    "   5|x***",
  );
  assert.equal(compose("{{{a}}}", { a: 1 }), "{1}");
  assert.equal(
    compose("{a[0]}_{a[1]}_{b[k]}_{b.k}", { a: ["x", "y"], b: { k: "v" } }),
    "x_y_v_v",
  );
});

test("pattern/compose - Python float formatting, rounded half to even from the exact value", () => {
  const x = { x: new PyFloat(1234.5) };
  assert.equal(
    compose("{x}|{x:.3}|{x:e}|{x:,.2f}|{x:%}|{x:010.1f}|{x:+g}", x),
    "1234.5|1.23e+03|1.234500e+03|1,234.50|123450.000000%|00001234.5|+1234.5",
  );
  const r = {
    f: new PyFloat(2.5),
    g: new PyFloat(3.5),
    h: new PyFloat(0.125),
    i: new PyFloat(0.05),
  };
  assert.equal(compose("{f:.0f}|{g:.0f}|{h:.2f}|{i:.1f}", r), "2|4|0.12|0.1");
  assert.equal(
    formatValue(new PyFloat(1e22), ".2f"),
    "10000000000000000000000.00",
  );
  assert.equal(formatValue(new PyFloat(-0), "z.1f"), "0.0");
  assert.equal(formatValue(new PyFloat(Infinity), "08,"), "00000inf");
  assert.equal(formatValue(new PyFloat(1e16), ""), "1e+16");
  assert.equal(
    formatValue(3.25, ""),
    "3.25",
    "a non-integer number is a float",
  );
});

test("pattern/compose - Python int formatting", () => {
  assert.equal(
    compose("{n:,}|{n:_x}|{n:#o}|{n:08.2f}|{n:=+8d}|{n:c}", { n: 9731 }),
    "9,731|2603|0o23003|09731.00|+   9731|☃",
  );
  assert.equal(compose("{b:d}|{b:>5}|{b}", { b: true }), "1|    1|True");
  assert.equal(
    formatValue(12345678901234567890n, ","),
    "12,345,678,901,234,567,890",
  );
  assert.equal(formatValue(1234, "09,"), "0,001,234");
  assert.equal(
    groupDigits("1234", ",", 3, 8),
    "0,001,234",
    "CPython never starts with a separator",
  );
});

test("pattern/compose - specs that do not suit the value throw PatternError", () => {
  assert.throws(
    () => compose("{a:d}", { a: new PyFloat(1.5) }),
    /Unknown format code 'd' for object of type 'float'/,
  );
  assert.throws(
    () => compose("{a:s}", { a: 5 }),
    /Unknown format code 's' for object of type 'int'/,
  );
  assert.throws(
    () => compose("{a:x}", { a: "5" }),
    /Unknown format code 'x' for object of type 'str'/,
  );
  assert.throws(() => compose("{a:%Y}", { a: "2024" }), PatternError);
  assert.throws(() => compose("{a:.2d}", { a: 5 }), /Precision not allowed/);
  assert.throws(() => compose("{a:>5}", { a: null }), PatternError);
});
