import assert from "node:assert/strict";
import { test } from "node:test";
import type { JsonValue } from "../../../src/message/index.js";
import {
  joinRelPath,
  requestedItems,
  requestedUids,
} from "../../../src/server/handlers/push.js";

test("server/requested - a file, a dataset, a collection of datasets: every item with a uri, at any depth", () => {
  assert.deepEqual(requestedItems({ uri: "/a/f1", uid: "f1" }), [
    { uri: "/a/f1", uid: "f1", path: undefined },
  ]);
  assert.deepEqual(
    requestedItems({
      dataset: [
        { uri: "/a/f1", uid: "f1", path: "sub/" },
        { uri: "/a/f2", uid: "f2" },
      ],
    }).map((i) => [i.uri, i.path]),
    [
      ["/a/f1", "sub/"],
      ["/a/f2", undefined],
    ],
  );
  const nested: Record<string, JsonValue> = {
    collection: [
      {
        dataset: [
          { uri: "/a/c1", uid: "c1" },
          { uri: "/a/c2", uid: "c2" },
        ],
        start_time: "x",
      },
      { dataset: [{ uri: "/a/c3", uid: "c3", path: "two" }] },
      { uri: "/a/c4", uid: "c4" },
    ],
  };
  assert.deepEqual(
    requestedItems(nested).map((i) => i.uri),
    ["/a/c1", "/a/c2", "/a/c3", "/a/c4"],
  );
  assert.deepEqual(requestedUids(nested), ["c1", "c2", "c3", "c4"]);
  assert.deepEqual(
    requestedItems({ collection: [{ dataset: [] }] }),
    [{ uri: undefined }],
    "nothing to serve: refused as missing uri",
  );
});

test("server/requested - path joins onto the destination as os.path.join does", () => {
  assert.equal(joinRelPath("/out/", "sub/"), "/out/sub/");
  assert.equal(joinRelPath("/out", "sub/f.dat"), "/out/sub/f.dat");
  assert.equal(joinRelPath("/out/", "/abs/"), "/abs/");
  assert.equal(joinRelPath("", "rel/"), "rel/");
});
