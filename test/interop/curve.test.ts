/**
 * CURVE (posttroll's `secure_zmq` backend) against the real thing, on
 * loopback. Keys are made by posttroll's own `generate_keys` (what
 * `posttroll-generate-keys` runs); the clients' directory holds only the
 * authorised client's `.key`.
 *
 * 1. secured Python server → move_it client (settings from a posttroll YAML
 *    file in $POSTTROLL_CONFIG) → Python subscriber on the client's secured
 *    publisher; a subscriber with a key not in the directory gets nothing.
 * 2. secured move_it server (settings from POSTTROLL_* variables) → Python
 *    client → Python subscriber; a subscriber with an unauthorised key on our
 *    server's publisher gets nothing, and our ZAP handler logs the refusal.
 * 3. move_it to move_it with `move_it_secure_requests`: files flow, and a
 *    plaintext request to the server's request port gets no answer.
 *
 * Each unauthorised subscriber runs beside an authorised one: "nothing" is
 * checked only after the authorised one received every file.
 */
import assert from "node:assert/strict";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Message } from "../../src/message/index.js";
import type { NsProcess } from "../helpers/netns.js";
import type { InteropLab } from "../helpers/reference.js";
import {
  assertIntact,
  drop,
  inLab,
  ini,
  makeFiles,
  makeSite,
  outputOf,
  skip,
  warmUp,
} from "../helpers/interop-kit.js";
import { waitFor } from "../helpers/wait.js";

const PUB = 9010;
const REQ = 9201;
const CLIENT_PUB = 9030;
const TOPIC = "/interop/curve";

const KEYGEN = `
import sys
from posttroll.backends.zmq import generate_keys
for name in sys.argv[2:]:
    generate_keys([name, "-d", sys.argv[1]])
`;

const SUBSCRIBER = `
import json, sys
from posttroll.subscriber import Subscriber
sub = Subscriber([sys.argv[1]], [sys.argv[2]])
print("READY", flush=True)
for msg in sub.recv(timeout=1):
    if msg is not None:
        print("MSG " + json.dumps(str(msg)), flush=True)
`;

const PLAIN_PING = `
import sys, zmq
from posttroll.message import Message
s = zmq.Context().socket(zmq.REQ)
s.setsockopt(zmq.RCVTIMEO, int(sys.argv[2]))
s.setsockopt(zmq.SNDTIMEO, int(sys.argv[2]))
s.setsockopt(zmq.LINGER, 0)
s.connect(sys.argv[1])
try:
    # With no handshake possible the send itself may block: both time out.
    s.send_string(str(Message("/interop/curve", "ping")))
    print("REPLY " + s.recv_string(), flush=True)
except zmq.Again:
    print("NOREPLY", flush=True)
s.close(0)
`;

interface Keys {
  dir: string;
  env: (clientKey?: string) => NodeJS.ProcessEnv;
  yaml: (clientKey?: string) => string;
}

async function makeKeys(lab: InteropLab): Promise<Keys> {
  const dir = join(lab.dir, "keys");
  const clients = join(lab.dir, "clients");
  await mkdir(dir);
  await mkdir(clients);
  const script = join(lab.dir, "keygen.py");
  await writeFile(script, KEYGEN);
  const gen = lab.py("keygen", "python", [
    script,
    dir,
    "server",
    "client",
    "intruder",
  ]);
  assert.equal(
    await gen.exited,
    "0",
    `key generation failed: ${await outputOf(gen)}`,
  );
  // Only the authorised client's public key goes into the clients' directory.
  await rename(join(dir, "client.key"), join(clients, "client.key"));
  const settings = (client = "client") => ({
    backend: "secure_zmq",
    server_secret_key_file: join(dir, "server.key_secret"),
    server_public_key_file: join(dir, "server.key"),
    client_secret_key_file: join(dir, `${client}.key_secret`),
    clients_public_keys_directory: clients,
  });
  return {
    dir,
    env: (client) =>
      Object.fromEntries(
        Object.entries(settings(client)).map(([k, v]) => [
          `POSTTROLL_${k.toUpperCase()}`,
          v,
        ]),
      ),
    yaml: (client) =>
      Object.entries(settings(client))
        .map(([k, v]) => `${k}: ${v}\n`)
        .join(""),
  };
}

async function received(sub: NsProcess): Promise<Message[]> {
  return (await outputOf(sub))
    .split("\n")
    .filter((l) => l.startsWith("MSG "))
    .map((l) => Message.decode(JSON.parse(l.slice(4)) as string));
}

async function uidsOf(sub: NsProcess, type: string): Promise<Set<string>> {
  return new Set(
    (await received(sub))
      .filter((m) => m.type === type)
      .map((m) => String(m.dataObject["uid"])),
  );
}

async function subscriber(
  lab: InteropLab,
  label: string,
  endpoint: string,
  env: NodeJS.ProcessEnv,
): Promise<NsProcess> {
  const script = join(lab.dir, "subscribe.py");
  await writeFile(script, SUBSCRIBER);
  const sub = lab.py(label, "python", [script, endpoint, TOPIC], env);
  await waitFor(
    async () => (await outputOf(sub)).includes("READY"),
    `${label} started`,
    30_000,
  );
  return sub;
}

const serverIni = (origin: string): string =>
  `[interop]\norigin = ${origin}/{name}.dat\ntopic = ${TOPIC}\nrequest_port = ${REQ}\nrequest_address = 127.0.0.1\n`;
const clientIni = (out: string): string =>
  `[interop]\nproviders = 127.0.0.1:${PUB}\ndestination = file://${out}/\ntopic = ${TOPIC}\npublish_port = ${CLIENT_PUB}\nnameservers = false\n`;

test(
  "interop/curve - secured Python server → move_it client (YAML settings) → Python subscriber; an unauthorised key hears nothing",
  { skip, timeout: 150_000 },
  async (t) => {
    await inLab(t, "cvpy", async (lab) => {
      const keys = await makeKeys(lab);
      const site = await makeSite(join(lab.dir, "site"));
      const out = join(lab.dir, "out");
      await mkdir(out);
      const yamlDir = join(lab.dir, "posttroll");
      await mkdir(yamlDir);
      await writeFile(join(yamlDir, "posttroll.yaml"), keys.yaml());
      lab.py(
        "py-server",
        "move_it_server",
        [
          "-p",
          String(PUB),
          "--disable-backlog",
          "-v",
          await ini(lab, "server.ini", serverIni(site.inDir)),
        ],
        keys.env(),
      );
      lab.ours(
        "ts-client",
        "client",
        [
          await ini(lab, "client.ini", clientIni(out)),
          "--host",
          "127.0.0.1",
          "-v",
        ],
        { POSTTROLL_CONFIG: yamlDir },
      );
      await lab.reachable(PUB);
      await lab.reachable(CLIENT_PUB);
      const good = await subscriber(
        lab,
        "sub-good",
        `tcp://127.0.0.1:${CLIENT_PUB}`,
        keys.env(),
      );
      const bad = await subscriber(
        lab,
        "sub-intruder",
        `tcp://127.0.0.1:${CLIENT_PUB}`,
        keys.env("intruder"),
      );
      await warmUp([site], async (name) =>
        (await uidsOf(good, "file")).has(name),
      );
      const files = makeFiles("curve", [10, 4096, 300_000, 1 << 20]);
      await drop([site], files);
      await waitFor(
        async () => {
          const got = await uidsOf(good, "file");
          return [...files.keys()].every((n) => got.has(n));
        },
        "the authorised subscriber heard every file",
        60_000,
      );
      await assertIntact(out, files);
      assert.deepEqual(
        await received(bad),
        [],
        "a subscriber with an unauthorised key received messages",
      );
    });
  },
);

test(
  "interop/curve - secured move_it server (POSTTROLL_* variables) → Python client → Python subscriber; our publisher refuses an unauthorised key",
  { skip, timeout: 150_000 },
  async (t) => {
    await inLab(t, "cvts", async (lab) => {
      const keys = await makeKeys(lab);
      const site = await makeSite(join(lab.dir, "site"));
      const out = join(lab.dir, "out");
      await mkdir(out);
      const server = lab.ours(
        "ts-server",
        "server",
        [
          await ini(lab, "server.ini", serverIni(site.inDir)),
          "-p",
          String(PUB),
          "--host",
          "127.0.0.1",
          "--disable-backlog",
          "--state-dir",
          join(lab.dir, "state"),
          "-v",
        ],
        keys.env(),
      );
      lab.py(
        "py-client",
        "move_it_client",
        ["-v", await ini(lab, "client.ini", clientIni(out))],
        keys.env(),
      );
      await lab.reachable(PUB);
      await lab.reachable(CLIENT_PUB);
      const good = await subscriber(
        lab,
        "sub-good",
        `tcp://127.0.0.1:${CLIENT_PUB}`,
        keys.env(),
      );
      const announcementsGood = await subscriber(
        lab,
        "sub-server-good",
        `tcp://127.0.0.1:${PUB}`,
        keys.env(),
      );
      const bad = await subscriber(
        lab,
        "sub-server-intruder",
        `tcp://127.0.0.1:${PUB}`,
        keys.env("intruder"),
      );
      await warmUp([site], async (name) =>
        (await uidsOf(good, "file")).has(name),
      );
      const files = makeFiles("curve", [10, 4096, 300_000, 1 << 20]);
      await drop([site], files);
      await waitFor(
        async () => {
          const got = await uidsOf(good, "file");
          const announced = await uidsOf(announcementsGood, "file");
          return [...files.keys()].every((n) => got.has(n) && announced.has(n));
        },
        "the authorised subscribers heard every file",
        60_000,
      );
      await assertIntact(out, files);
      assert.deepEqual(
        await received(bad),
        [],
        "a subscriber with an unauthorised key received our server's announcements",
      );
      const refusals = (await server.records()).filter(
        (r) =>
          r.msg ===
          "CURVE client refused: its public key is not in clients_public_keys_directory",
      );
      assert.ok(refusals.length > 0, "our ZAP handler logged no refusal");
    });
  },
);

test(
  "interop/curve - move_it_secure_requests: move_it server and client talk CURVE on the request socket too; a plaintext request gets no answer",
  { skip, timeout: 150_000 },
  async (t) => {
    await inLab(t, "cvreq", async (lab) => {
      const keys = await makeKeys(lab);
      const env = { ...keys.env(), POSTTROLL_MOVE_IT_SECURE_REQUESTS: "true" };
      const site = await makeSite(join(lab.dir, "site"));
      const out = join(lab.dir, "out");
      await mkdir(out);
      lab.ours(
        "ts-server",
        "server",
        [
          await ini(lab, "server.ini", serverIni(site.inDir)),
          "-p",
          String(PUB),
          "--host",
          "127.0.0.1",
          "--disable-backlog",
          "--state-dir",
          join(lab.dir, "state"),
          "-v",
        ],
        env,
      );
      lab.ours(
        "ts-client",
        "client",
        [
          await ini(lab, "client.ini", clientIni(out)),
          "--host",
          "127.0.0.1",
          "-v",
        ],
        env,
      );
      await lab.reachable(PUB);
      await lab.reachable(CLIENT_PUB);
      const good = await subscriber(
        lab,
        "sub-good",
        `tcp://127.0.0.1:${CLIENT_PUB}`,
        keys.env(),
      );
      await warmUp([site], async (name) =>
        (await uidsOf(good, "file")).has(name),
      );
      const files = makeFiles("curve", [10, 300_000]);
      await drop([site], files);
      await waitFor(
        async () => {
          const got = await uidsOf(good, "file");
          return [...files.keys()].every((n) => got.has(n));
        },
        "every file delivered over secured requests",
        60_000,
      );
      await assertIntact(out, files);
      const script = join(lab.dir, "plain-ping.py");
      await writeFile(script, PLAIN_PING);
      const ping = lab.py("plain-ping", "python", [
        script,
        `tcp://127.0.0.1:${REQ}`,
        "3000",
      ]);
      await ping.exited;
      assert.match(
        await outputOf(ping),
        /NOREPLY/,
        "a plaintext ping to the secured request socket was answered",
      );
    });
  },
);
