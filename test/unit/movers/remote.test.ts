import assert from "node:assert/strict";
import { test } from "node:test";
import { boolParam, endpoints, hostPort, networkSettings, numberParam } from "../../../src/movers/remote.js";
import { readNetworkParameters } from "../../../src/config/connection-parameters.js";
import { parseUrl } from "../../../src/util/url.js";

test("movers/remote - destination first, then backup targets in order, without repeats", () => {
  const dest = parseUrl("sftp://u@primary:2222/data/");
  assert.deepEqual(endpoints(dest, ["b1", "b2:2300", "[::1]:2400", "sftp://x@b3/ignored", "primary:2222", " "], 22), [
    { host: "primary", port: 2222 },
    { host: "b1", port: 2222 },
    { host: "b2", port: 2300 },
    { host: "::1", port: 2400 },
    { host: "b3", port: 2222 },
  ]);
  assert.deepEqual(endpoints(parseUrl("ftp://h/x/"), undefined, 21), [{ host: "h", port: 21 }]);
  assert.equal(hostPort({ host: "::1", port: 22 }), "[::1]:22");
});

test("movers/remote - connection parameters from ini strings", () => {
  const ssh = (params: Record<string, unknown>): ReturnType<typeof networkSettings> => {
    const p = readNetworkParameters(params);
    return networkSettings(p, p.sshConnectionTimeout);
  };
  assert.deepEqual(networkSettings(readNetworkParameters({}), undefined), { uptimeMs: 30_000, maxConnections: 4, connectTimeoutMs: 10_000 });
  assert.deepEqual(ssh({ connection_uptime: "2.5", max_connections: "1", ssh_connection_timeout: "3" }), {
    uptimeMs: 2500,
    maxConnections: 1,
    connectTimeoutMs: 3000,
  });
  assert.equal(ssh({ connection_timeout: "4" }).connectTimeoutMs, 4000);
  assert.equal(boolParam({ accept_new_host_keys: "Yes" }, "accept_new_host_keys", false), true);
  assert.equal(boolParam({}, "accept_new_host_keys", false), false);
  assert.throws(() => boolParam({ x: "maybe" }, "x", false), /connection_parameters__x is not a boolean: 'maybe'/);
  assert.throws(() => numberParam({ connection_uptime: "soon" }, "connection_uptime", 30), /connection_parameters__connection_uptime/);
});
