import assert from "node:assert/strict";
import { test } from "node:test";
import {
  asDirectory,
  buildDestination,
  deliveredUri,
  targetPath,
} from "../../../src/client/destination.js";

test("client/destination - a file URL without host gets this host's name (C1)", () => {
  const d = buildDestination("file:///data/e2e/out/", { hostname: "vm" });
  assert.equal(d.request, "file://vm/data/e2e/out/");
  assert.equal(d.public, "file://vm/data/e2e/out/");
  assert.equal(d.scheme, "file");
  assert.equal(d.local, true);
  assert.equal(d.path, "/data/e2e/out/");
});

test("client/destination - login goes into the request only (C2)", () => {
  const d = buildDestination("file:///data/e2e/out_l/", {
    hostname: "vm",
    login: "user:secret",
  });
  assert.equal(d.request, "file://user:secret@vm/data/e2e/out_l/");
  assert.equal(d.public, "file://vm/data/e2e/out_l/");
});

test("client/destination - a bare path is a file destination", () => {
  assert.equal(
    buildDestination("/data/out/", { hostname: "vm" }).request,
    "file://vm/data/out/",
  );
});

test("client/destination - remote URLs keep host and port; their own credentials unless login replaces them", () => {
  const own = buildDestination("ftp://bob:pw@ftp.example:2121/in/", {
    hostname: "vm",
  });
  assert.equal(own.request, "ftp://bob:pw@ftp.example:2121/in/");
  assert.equal(own.public, "ftp://ftp.example:2121/in/");
  assert.equal(own.local, false);
  const replaced = buildDestination("ftp://bob:pw@ftp.example/in/", {
    hostname: "vm",
    login: "alice",
  });
  assert.equal(replaced.request, "ftp://alice@ftp.example/in/");
  assert.equal(
    buildDestination("scp://[::1]/x/", { hostname: "vm" }).request,
    "scp://[::1]/x/",
  );
});

test("client/destination - where a delivered file lands and the uri republished for it", () => {
  const dir = buildDestination("file:///data/out/", { hostname: "vm" });
  assert.equal(targetPath(dir, "/data/in/a.dat"), "/data/out/a.dat");
  assert.equal(deliveredUri(dir, "/data/in/a.dat"), "/data/out/a.dat");
  const file = buildDestination("file:///data/out/renamed.dat", {
    hostname: "vm",
  });
  assert.equal(targetPath(file, "/data/in/a.dat"), "/data/out/renamed.dat");
  const remote = buildDestination("sftp://host/in/", {
    hostname: "vm",
    login: "u:p",
  });
  assert.equal(deliveredUri(remote, "/data/in/a.dat"), "sftp://host/in/a.dat");
  const asDir = asDirectory(
    buildDestination("file:///data/out", { hostname: "vm", login: "u:p" }),
  );
  assert.equal(asDir.request, "file://u:p@vm/data/out/");
  assert.equal(asDir.public, "file://vm/data/out/");
});
