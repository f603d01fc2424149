import assert from "node:assert/strict";
import { test } from "node:test";
import {
  boolParam,
  networkSettings,
  numberParam,
} from "../../../src/movers/parameters.js";
import { readNetworkParameters } from "../../../src/config/connection-parameters.js";

test("movers/parameters - connection parameters from ini strings", () => {
  const ssh = (
    params: Record<string, unknown>,
  ): ReturnType<typeof networkSettings> => {
    const p = readNetworkParameters(params);
    return networkSettings(p, p.sshConnectionTimeout);
  };
  assert.deepEqual(networkSettings(readNetworkParameters({}), undefined), {
    uptimeMs: 30_000,
    maxConnections: 4,
    connectTimeoutMs: 10_000,
  });
  assert.deepEqual(
    ssh({
      connection_uptime: "2.5",
      max_connections: "1",
      ssh_connection_timeout: "3",
    }),
    {
      uptimeMs: 2500,
      maxConnections: 1,
      connectTimeoutMs: 3000,
    },
  );
  assert.equal(ssh({ connection_timeout: "4" }).connectTimeoutMs, 4000);
  assert.equal(
    boolParam({ accept_new_host_keys: "Yes" }, "accept_new_host_keys", false),
    true,
  );
  assert.equal(boolParam({}, "accept_new_host_keys", false), false);
  assert.throws(
    () => boolParam({ x: "maybe" }, "x", false),
    /connection_parameters__x is not a boolean: 'maybe'/,
  );
  assert.throws(
    () => numberParam({ connection_uptime: "soon" }, "connection_uptime", 30),
    /connection_parameters__connection_uptime/,
  );
});
