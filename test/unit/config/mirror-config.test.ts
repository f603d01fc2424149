import { test } from "node:test";
import assert from "node:assert/strict";

import { ConfigError } from "../../../src/errors.js";
import { loadConfig } from "../../../src/config/index.js";
import type { MirrorChainConfig } from "../../../src/config/index.js";

const MIRROR = [
  "providers = rx1:9010 rx2:9010/1b/other",
  "destination = file:///data/staging/",
  "client_topic = /1b/hrit",
  "origin = /data/staging/{name}.dat",
  "topic = /gw/hrit",
  "request_port = 9203",
  "request_address = gateway.example.org",
  "info = sensor=seviri",
  "delete = True",
  "remove_delay = 60",
  "",
].join("\n");

function chain(body: string): MirrorChainConfig {
  const [only] = loadConfig(`[gw]\n${body}`, "mirror", "m.ini").chains;
  assert.ok(only);
  return only;
}

function rejects(body: string, pattern: RegExp): void {
  assert.throws(
    () => loadConfig(`[gw]\n${body}`, "mirror", "m.ini"),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test("config/mirror-config - splits a section into its client and server sides", () => {
  const m = chain(MIRROR);
  assert.equal(m.kind, "mirror");
  assert.equal(m.name, "gw");
  assert.equal(m.prefetch, false);
  assert.equal(m.client.kind, "client");
  assert.equal(m.client.name, "gw");
  assert.equal(m.client.topic, "/1b/hrit");
  assert.equal(m.client.destination, "file:///data/staging/");
  assert.deepEqual(
    m.client.providers.map((p) => [p.address, p.topic]),
    [
      ["rx1:9010", undefined],
      ["rx2:9010", "/1b/other"],
    ],
  );
  assert.equal(m.server.kind, "server");
  assert.equal(m.server.topic, "/gw/hrit");
  assert.equal(m.server.origin, "/data/staging/{name}.dat");
  assert.equal(m.server.requestPort, 9203);
  assert.equal(m.server.requestAddress, "gateway.example.org");
  assert.deepEqual(m.server.info, [["sensor", "seviri"]]);
  assert.equal(m.server.delete, true);
  assert.equal(m.server.removeDelay, 60);
});

test("config/mirror-config - server and mirror options are not metadata rewrites of the client side", () => {
  const m = chain(
    `${MIRROR}station = gw\ndelay = 2\nprefetch = yes\nplatform_name = MSG4:Meteosat-11\n`,
  );
  assert.deepEqual(m.client.metadataRewrites, [
    ["platform_name", "MSG4:Meteosat-11"],
  ]);
  assert.equal(m.prefetch, true);
  assert.equal(m.server.station, "gw");
});

test("config/mirror-config - client_topic defaults to topic", () => {
  assert.equal(
    chain(MIRROR.replace("client_topic = /1b/hrit\n", "")).client.topic,
    "/gw/hrit",
  );
});

test("config/mirror-config - compression belongs to the fetching side", () => {
  const m = chain(`${MIRROR}compression = tar\n`);
  assert.equal(m.client.compression, "tar");
  assert.equal(m.server.compression, undefined);
});

test("config/mirror-config - request_port is required, staging through a path, file, ftp, scp or sftp", () => {
  rejects(
    MIRROR.replace("request_port = 9203\n", ""),
    /section \[gw\], option request_port: missing required option/,
  );
  rejects(
    MIRROR.replace("file:///data/staging/", "s3://bucket/staging/"),
    /option destination, value "s3:\/\/bucket\/staging\/": a mirror stages into a directory given as a path or a file:\/\/, ftp:\/\/, scp:\/\/ or sftp:\/\/ URL/,
  );
  rejects(
    `${MIRROR}staging_directory = staging\n`,
    /option staging_directory, value "staging": must be an absolute path/,
  );
  rejects(
    MIRROR.replace("origin = /data/staging/{name}.dat\n", ""),
    /option origin: missing required option/,
  );
  rejects(
    `${MIRROR}prefetch = later\n`,
    /option prefetch, value "later": not a boolean/,
  );
});

test("config/mirror-config - the same request_port in two sections is an error", () => {
  assert.throws(
    () => loadConfig(`[a]\n${MIRROR}[b]\n${MIRROR}`, "mirror"),
    /section \[b\], option request_port, value "9203": port already used by section \[a\]/,
  );
});

test("config/mirror-config - the result is deeply frozen", () => {
  const m = chain(MIRROR);
  for (const part of [
    m,
    m.client,
    m.client.providers,
    m.server,
    m.server.info,
    m.raw,
  ]) {
    assert.ok(Object.isFrozen(part));
  }
});

test("config/mirror-config - a mirror section cannot listen", () => {
  rejects(
    `${MIRROR}listen = /1b/hrit\n`,
    /section \[gw\], option listen, value "\/1b\/hrit": a mirror section cannot listen/,
  );
});

test("config/mirror-config - the staging directory served from: the destination's path, or staging_directory", () => {
  assert.equal(chain(MIRROR).stagingDirectory, "/data/staging/");
  assert.equal(
    chain(MIRROR.replace("file:///data/staging/", "/data/st2/"))
      .stagingDirectory,
    "/data/st2/",
  );
  assert.equal(
    chain(
      MIRROR.replace(
        "file:///data/staging/",
        "ftp://user:pw@gw.example.org:2121/data/in%20coming/",
      ),
    ).stagingDirectory,
    "/data/in coming/",
  );
  assert.equal(
    chain(MIRROR.replace("file:///data/staging/", "sftp://gw/data/s/"))
      .stagingDirectory,
    "/data/s/",
  );
  assert.equal(
    chain(MIRROR.replace("file:///data/staging/", "scp://gw/data/s/"))
      .stagingDirectory,
    "/data/s/",
  );
  const ftp = chain(
    `${MIRROR.replace("file:///data/staging/", "ftp://gw/pub/in/")}staging_directory = /srv/ftp/pub/in\n`,
  );
  assert.equal(ftp.stagingDirectory, "/srv/ftp/pub/in");
  assert.equal(ftp.client.destination, "ftp://gw/pub/in/");
});
