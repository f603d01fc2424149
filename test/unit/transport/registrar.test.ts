import assert from "node:assert/strict";
import { test } from "node:test";
import {
  advertisedHost,
  registrationEndpoint,
  registrationMessage,
} from "../../../src/transport/registrar.js";

test("registrar - a nameserver entry without a port gets 21200, one with a port keeps it", () => {
  assert.equal(registrationEndpoint("localhost"), "tcp://localhost:21200");
  assert.equal(
    registrationEndpoint("ns.example.org:3000"),
    "tcp://ns.example.org:3000",
  );
  assert.equal(registrationEndpoint("tcp://10.0.0.1"), "tcp://10.0.0.1:21200");
});

test("registrar - the advertised host: the bound one when specific, else the first external IPv4, else loopback", () => {
  const ifs = {
    lo: [{ family: "IPv4", internal: true, address: "127.0.0.1" }],
    eth0: [
      { family: "IPv6", internal: false, address: "fe80::1" },
      { family: "IPv4", internal: false, address: "10.1.2.3" },
    ],
  } as never;
  assert.equal(advertisedHost("192.168.1.5", ifs), "192.168.1.5");
  assert.equal(advertisedHost("*", ifs), "10.1.2.3");
  assert.equal(
    advertisedHost("0.0.0.0", {
      lo: [{ family: "IPv4", internal: true, address: "127.0.0.1" }],
    } as never),
    "127.0.0.1",
  );
});

test("registrar - the registration message is NoisyPublisher's: subject, type and data keys in its order", () => {
  const msg = registrationMessage(
    "move_it_hrit",
    "tcp://10.1.2.3:40000",
    ["move_it_hrit"],
    "unsecure_zmq",
  );
  assert.equal(msg.subject, "/address/move_it_hrit");
  assert.equal(msg.type, "info");
  assert.equal(msg.version, "v1.01");
  assert.match(
    msg.encode(),
    / application\/json \{"URI": "tcp:\/\/10\.1\.2\.3:40000", "service": \["move_it_hrit"\], "supported_message_version": "v1\.2", "backend": "unsecure_zmq"\}$/,
  );
});
