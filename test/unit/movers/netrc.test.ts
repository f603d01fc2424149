import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  netrcCredentials,
  netrcLookup,
  netrcPath,
  parseNetrc,
} from "../../../src/movers/netrc.js";

test("movers/netrc - reads machine, login, password, account and default", () => {
  const n = parseNetrc(
    "machine ftp.example login alice password 's3cret'\naccount acct\n\ndefault login anon password guest\n",
  );
  assert.deepEqual(netrcLookup(n, "ftp.example"), {
    login: "alice",
    password: "'s3cret'",
    account: "acct",
  });
  assert.deepEqual(netrcLookup(n, "elsewhere"), {
    login: "anon",
    password: "guest",
    account: undefined,
  });
});

test("movers/netrc - entries on one line or many, quoted values, comments", () => {
  const n = parseNetrc(
    '# a comment\nmachine a login u1 password "two words" # trailing\nmachine b\n  login u2\n  password p\\"q\n',
  );
  assert.equal(netrcLookup(n, "a")?.password, "two words");
  assert.equal(netrcLookup(n, "b")?.password, 'p"q');
  assert.equal(netrcLookup(n, "c"), undefined);
});

test("movers/netrc - skips macdef bodies up to the blank line", () => {
  const n = parseNetrc(
    "machine a login u password p\nmacdef init\ncd /pub\nmachine evil login x password y\n\nmachine b login v password w\n",
  );
  assert.equal(netrcLookup(n, "evil"), undefined);
  assert.equal(netrcLookup(n, "b")?.login, "v");
});

test("movers/netrc - a later entry for the same machine wins, as in Python", () => {
  const n = parseNetrc(
    "machine a login first password 1\nmachine a login second password 2\n",
  );
  assert.equal(netrcLookup(n, "a")?.login, "second");
});

test("movers/netrc - the file is $HOME/.netrc; a missing file means no credentials", async () => {
  assert.equal(netrcPath({ HOME: "/home/x" }), "/home/x/.netrc");
  const dir = await mkdtemp(join(tmpdir(), "move_it-netrc-"));
  try {
    assert.equal(await netrcCredentials("h", join(dir, ".netrc")), undefined);
    await writeFile(join(dir, ".netrc"), "machine h login l password p\n");
    assert.deepEqual(await netrcCredentials("h", join(dir, ".netrc")), {
      login: "l",
      password: "p",
      account: undefined,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
