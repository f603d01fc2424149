import assert from "node:assert/strict";
import { hostname } from "node:os";
import { test } from "node:test";
import { Message, type JsonValue } from "../../../src/message/index.js";
import {
  localPathOf,
  reannouncement,
  uidsOf,
  urisOf,
} from "../../../src/server/listen.js";
import {
  addressRecords,
  lookupEndpoint,
  newsEndpoint,
  offersService,
} from "../../../src/transport/ns-lookup.js";

test("server/listen - the re-announcement: info first, received keys over it in place, request_address last or in its place", () => {
  const received = new Message("/up/x", "file", {
    sensor: "viirs",
    uri: "/d/a.dat",
    uid: "a.dat",
  });
  const out = reannouncement(
    received,
    "/relay",
    [
      ["station", "gw"],
      ["sensor", "avhrr"],
    ],
    "127.0.0.1:9100",
  );
  assert.equal(out.subject, "/relay");
  assert.equal(out.type, "file");
  assert.deepEqual(Object.entries(out.dataObject), [
    ["station", "gw"],
    ["sensor", "viirs"],
    ["uri", "/d/a.dat"],
    ["uid", "a.dat"],
    ["request_address", "127.0.0.1:9100"],
  ]);
  const relayed = new Message("/up/x", "dataset", {
    request_address: "10.0.0.1:1",
    dataset: [{ uri: "/d/b", uid: "b" }],
  });
  assert.deepEqual(
    Object.keys(reannouncement(relayed, "/relay", [], "h:2").dataObject),
    ["request_address", "dataset"],
  );
  assert.equal(
    reannouncement(relayed, "/relay", [], "h:2").dataObject["request_address"],
    "h:2",
  );
  assert.equal(reannouncement(relayed, "/relay", [], "h:2").type, "dataset");
});

test("server/listen - uris and uids of nested datasets and collections", () => {
  const data: JsonValue = {
    collection: [
      {
        dataset: [
          { uri: "/a", uid: "a" },
          { uri: "file:///b", uid: "b" },
        ],
      },
      { uri: "/c", uid: "c" },
    ],
  };
  assert.deepEqual(urisOf(data), ["/a", "file:///b", "/c"]);
  assert.deepEqual(uidsOf(data), ["a", "b", "c"]);
  assert.deepEqual(urisOf("text"), []);
});

test("server/listen - which uris name a file on this host", async () => {
  assert.equal(await localPathOf("/data/a.dat"), "/data/a.dat");
  assert.equal(await localPathOf("file:///data/a.dat"), "/data/a.dat");
  assert.equal(
    await localPathOf("file://anyhost/data/a%20b.dat"),
    "/data/a b.dat",
  );
  assert.equal(await localPathOf("ssh://127.0.0.1/data/a.dat"), "/data/a.dat");
  assert.equal(
    await localPathOf(`scp://user@${hostname()}:22/data/a.dat`),
    "/data/a.dat",
  );
  assert.equal(
    await localPathOf("ftp://elsewhere.invalid/data/a.dat"),
    undefined,
  );
  assert.equal(await localPathOf("relative/a.dat"), undefined);
});

test("transport/ns-lookup - endpoints as posttroll builds them, records, service match", () => {
  assert.equal(lookupEndpoint("localhost", 5557), "tcp://localhost:5557");
  assert.equal(lookupEndpoint("tcp://ns", 5557), "tcp://ns:5557");
  assert.equal(lookupEndpoint("tcp://ns:6000", 5557), "tcp://ns:6000");
  assert.equal(newsEndpoint("tcp://ns:6000", 16543), "tcp://ns:16543");
  assert.equal(newsEndpoint("ns", 16543), "tcp://ns:16543");
  assert.deepEqual(
    addressRecords([
      { URI: "tcp://h:1", service: ["s"], status: true },
      { nope: 1 },
    ]),
    [{ uri: "tcp://h:1", service: ["s"], status: true }],
  );
  assert.deepEqual(
    addressRecords({ URI: "tcp://h:1", service: "s", status: false }),
    [{ uri: "tcp://h:1", service: "s", status: false }],
  );
  assert.deepEqual(addressRecords(""), []);
  assert.ok(offersService(["a", "b"], "b"));
  assert.ok(offersService(["a"], ""));
  assert.ok(!offersService(["a"], "b"));
});
