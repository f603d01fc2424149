import assert from "node:assert/strict";
import { test } from "node:test";
import * as zmq from "zeromq";
import { z85Decode, z85Encode } from "../../../src/util/z85.js";

test("z85 - RFC 32's test vector both ways", () => {
  const bytes = Uint8Array.from([
    0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b,
  ]);
  assert.equal(z85Encode(bytes), "HelloWorld");
  assert.deepEqual(z85Decode("HelloWorld"), bytes);
  assert.equal(z85Decode("Hell"), undefined);
  assert.equal(z85Decode("~~~~~"), undefined);
});

test("z85 - a CURVE key from libzmq round-trips through 32 bytes", () => {
  const { publicKey } = zmq.curveKeyPair();
  const raw = z85Decode(publicKey);
  assert.equal(raw?.length, 32);
  assert.equal(z85Encode(raw), publicKey);
});
