import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULT_NETWORK_PARAMETERS,
  readNetworkParameters,
} from "../../../src/config/connection-parameters.js";
import { ConfigError } from "../../../src/errors.js";

const AT = { file: "/etc/m.ini", section: "hrit" };

test("config/connection-parameters - defaults, and values as readNested leaves them", () => {
  assert.deepEqual(readNetworkParameters({}), DEFAULT_NETWORK_PARAMETERS);
  const p = readNetworkParameters({
    connection_uptime: 5,
    connection_timeout: 2,
    ftp_connection_timeout: 7,
    max_connections: 2.7,
    ssh_private_key_file: "/k",
    known_hosts: "/kh",
    accept_new_host_keys: true,
  });
  assert.deepEqual(
    { ...p },
    {
      connectionUptime: 5,
      connectionTimeout: 2,
      ftpConnectionTimeout: 7,
      sshConnectionTimeout: undefined,
      maxConnections: 2,
      sshKeyFilename: "/k",
      knownHosts: "/kh",
      acceptNewHostKeys: true,
    },
  );
  assert.equal(
    readNetworkParameters({
      ssh_key_filename: "/new",
      ssh_private_key_file: "/old",
    }).sshKeyFilename,
    "/new",
  );
  assert.equal(
    readNetworkParameters({ max_connections: 0 }).maxConnections,
    1,
    "at least one connection",
  );
  assert.ok(Object.isFrozen(p));
});

test("config/connection-parameters - one boolean rule: Python's getboolean words, 1 and 0", () => {
  for (const [v, want] of [
    ["yes", true],
    ["On", true],
    ["1", true],
    [1, true],
    ["false", false],
    ["OFF", false],
    [0, false],
  ] as const) {
    assert.equal(
      readNetworkParameters({ accept_new_host_keys: v }).acceptNewHostKeys,
      want,
      String(v),
    );
  }
  assert.throws(
    () => readNetworkParameters({ accept_new_host_keys: "" }),
    /not a boolean/,
  );
});

test("config/connection-parameters - a bad value is a ConfigError naming file, section, option and value", () => {
  assert.throws(
    () => readNetworkParameters({ connection_uptime: "soon" }, AT),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        err.message,
        'file /etc/m.ini, section [hrit], option connection_parameters__connection_uptime, value "soon": not a non-negative number of seconds',
      );
      assert.equal(err.option, "connection_parameters__connection_uptime");
      return true;
    },
  );
  assert.throws(
    () => readNetworkParameters({ max_connections: true }, AT),
    /option connection_parameters__max_connections, value "true": not a non-negative number/,
  );
});

test("config/connection-parameters - with a problems list every bad value is recorded and its default used", () => {
  const problems: ConfigError[] = [];
  const p = readNetworkParameters(
    {
      connection_uptime: "soon",
      connection_timeout: -1,
      accept_new_host_keys: "maybe",
      known_hosts: { x: 1 },
    },
    AT,
    problems,
  );
  assert.deepEqual(
    problems.map((e) => e.option),
    [
      "connection_parameters__connection_uptime",
      "connection_parameters__connection_timeout",
      "connection_parameters__known_hosts",
      "connection_parameters__accept_new_host_keys",
    ],
  );
  assert.deepEqual({ ...p }, { ...DEFAULT_NETWORK_PARAMETERS });
});
