import assert from "node:assert/strict";
import { test } from "node:test";
import { endpoints, hostPort } from "../../../src/movers/endpoints.js";
import { parseUrl } from "../../../src/util/url.js";

test("movers/endpoints - destination first, then backup targets in order, without repeats", () => {
  const dest = parseUrl("sftp://u@primary:2222/data/");
  assert.deepEqual(
    endpoints(
      dest,
      [
        "b1",
        "b2:2300",
        "[::1]:2400",
        "sftp://x@b3/ignored",
        "primary:2222",
        " ",
      ],
      22,
    ),
    [
      { host: "primary", port: 2222 },
      { host: "b1", port: 2222 },
      { host: "b2", port: 2300 },
      { host: "::1", port: 2400 },
      { host: "b3", port: 2222 },
    ],
  );
  assert.deepEqual(endpoints(parseUrl("ftp://h/x/"), undefined, 21), [
    { host: "h", port: 21 },
  ]);
  assert.equal(hostPort({ host: "::1", port: 22 }), "[::1]:22");
});
