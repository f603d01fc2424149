import assert from "node:assert/strict";
import { test } from "node:test";
import {
  keyTypeOf,
  knownHostName,
  knownKeyTypes,
  parseKnownHosts,
  patternsMatch,
  verifyHostKey,
} from "../../../src/movers/known-hosts.js";

const KEY_A =
  "AAAAC3NzaC1lZDI1NTE5AAAAILdIfq40eMG6J9NInwNa0pjQKO+0v9aNqDOC0hHFC5B/";
const KEY_B =
  "AAAAC3NzaC1lZDI1NTE5AAAAIBqmJ6wXQkq1IxnQm8EWCMtNmuxoMuB5dI7hhZjKSz4p";
const blob = (b64: string): Buffer => Buffer.from(b64, "base64");

// Produced by `ssh-keygen -H` from "[example.org]:2222 ..." and "host.example ...".
const HASHED = [
  `|1|ztWtQ37xALga8x91t+X8rTm3jaE=|KUJi5v0wEKT/0PW953hcDpHE0CM= ssh-ed25519 ${KEY_A}`,
  `|1|+2PnXUG7tmJ46SlieDkUfBQeFdU=|tyWR4MBOAYrIz2RHoAYtclSlV/0= ssh-ed25519 ${KEY_A}`,
].join("\n");

test("movers/known-hosts - names hosts as OpenSSH does", () => {
  assert.equal(knownHostName("h.example", 22), "h.example");
  assert.equal(knownHostName("h.example", 2222), "[h.example]:2222");
});

test("movers/known-hosts - reads the key type from the blob", () => {
  assert.equal(keyTypeOf(blob(KEY_A)), "ssh-ed25519");
  assert.equal(keyTypeOf(Buffer.alloc(2)), "");
});

test("movers/known-hosts - parses markers and skips comments and junk", () => {
  const entries = parseKnownHosts(
    `# comment\n\n@revoked bad.example ssh-ed25519 ${KEY_B}\nonly-two fields\nh1,h2 ssh-ed25519 ${KEY_A} c@x\n`,
  );
  assert.deepEqual(entries, [
    {
      marker: "@revoked",
      patterns: "bad.example",
      keyType: "ssh-ed25519",
      key: KEY_B,
    },
    { marker: "", patterns: "h1,h2", keyType: "ssh-ed25519", key: KEY_A },
  ]);
});

test("movers/known-hosts - matches pattern lists, wildcards and negation", () => {
  assert.ok(patternsMatch("a.example,b.example", "b.example"));
  assert.ok(patternsMatch("*.example", "x.example"));
  assert.ok(patternsMatch("10.0.0.?", "10.0.0.7"));
  assert.ok(!patternsMatch("*.example,!bad.example", "bad.example"));
  assert.ok(patternsMatch("[h.example]:2222", "[h.example]:2222"));
  assert.ok(!patternsMatch("h.example", "[h.example]:2222"));
  assert.ok(!patternsMatch("h.example", "h.examplex"));
});

test("movers/known-hosts - matches hashed entries written by ssh-keygen -H", () => {
  const entries = parseKnownHosts(HASHED);
  assert.equal(
    verifyHostKey(entries, "example.org", 2222, blob(KEY_A)),
    "known",
  );
  assert.equal(
    verifyHostKey(entries, "host.example", 22, blob(KEY_A)),
    "known",
  );
  assert.equal(
    verifyHostKey(entries, "example.org", 22, blob(KEY_A)),
    "unknown",
  );
  assert.equal(
    verifyHostKey(entries, "host.example", 22, blob(KEY_B)),
    "mismatch",
  );
});

test("movers/known-hosts - verdicts: known, unknown, mismatch, revoked", () => {
  const entries = parseKnownHosts(
    `[h]:2200 ssh-ed25519 ${KEY_A}\n@revoked * ssh-ed25519 ${KEY_B}\nother ssh-rsa AAAAB3NzaC1yc2E=\n`,
  );
  assert.equal(verifyHostKey(entries, "h", 2200, blob(KEY_A)), "known");
  assert.equal(verifyHostKey(entries, "h", 2201, blob(KEY_A)), "unknown");
  assert.equal(verifyHostKey(entries, "h", 2200, blob(KEY_B)), "revoked");
  assert.equal(
    verifyHostKey(
      parseKnownHosts(`h ssh-ed25519 ${KEY_B}`),
      "h",
      22,
      blob(KEY_A),
    ),
    "mismatch",
  );
  // A key of another type than the ones on file is new, not a mismatch.
  assert.equal(
    verifyHostKey(
      parseKnownHosts("h ssh-rsa AAAAB3NzaC1yc2E="),
      "h",
      22,
      blob(KEY_A),
    ),
    "unknown",
  );
});

test("movers/known-hosts - lists the key types on file for a host", () => {
  const entries = parseKnownHosts(
    `h ssh-rsa AAAA\nh ssh-ed25519 ${KEY_A}\nh ssh-rsa BBBB\nx ecdsa-sha2-nistp256 CCCC\n`,
  );
  assert.deepEqual(knownKeyTypes(entries, "h", 22), ["ssh-rsa", "ssh-ed25519"]);
});
