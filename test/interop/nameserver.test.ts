/**
 * posttroll nameserver discovery against the real thing, on loopback:
 *
 * 1. Python's `nameserver --no-multicast`; a move_it client with
 *    `nameservers = localhost` and `publish_port = 0` registers its
 *    random-port publisher; a Python `Subscribe("move_it_<section>",
 *    [topic], nameserver="localhost")` finds it and receives its `file`
 *    message for every delivered file. The registration the nameserver
 *    holds has the fields posttroll's NoisyPublisher sends.
 * 2. `move_it_nameserver`; a Python client (a posttroll NoisyPublisher)
 *    with `nameservers = localhost` and `publish_port = 0` registers with
 *    it, and a Python Subscribe looks it up there and receives its `file`
 *    messages; a move_it client registers with it too and is found by
 *    `get_pub_address`.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Message } from "../../src/message/index.js";
import type { NsProcess } from "../helpers/netns.js";
import type { InteropLab } from "../helpers/reference.js";
import {
  drop,
  inLab,
  ini,
  makeFiles,
  makeSite,
  outputOf,
  skip,
  tally,
  warmUp,
} from "../helpers/interop-kit.js";
import { waitFor } from "../helpers/wait.js";

const PUB = 9010;
const REQ = 9201;
const TOPIC = "/interop/ns";

// Subscribes through the nameserver to one service and prints every message received, one JSON line each.
const SUBSCRIBER = `
import json, sys
from posttroll.subscriber import Subscribe
service, topic = sys.argv[1], sys.argv[2]
with Subscribe(service, [topic], nameserver="localhost", timeout=30) as sub:
    print("READY", flush=True)
    for msg in sub.recv(timeout=1):
        if msg is not None:
            print("MSG " + json.dumps(str(msg)), flush=True)
`;

// Prints what the nameserver knows of one service, as posttroll's get_pub_address returns it.
const LOOKUP = `
import json, sys
from posttroll.ns import get_pub_address
print("ADDR " + json.dumps(get_pub_address(sys.argv[1], timeout=5, nameserver="localhost"), default=lambda d: d.isoformat()), flush=True)
`;

/** The messages a Python subscriber printed. */
async function received(sub: NsProcess): Promise<Message[]> {
  const lines = (await outputOf(sub))
    .split("\n")
    .filter((l) => l.startsWith("MSG "));
  return lines.map((l) => Message.decode(JSON.parse(l.slice(4)) as string));
}

let lookups = 0;

/** Ask the nameserver, from Python, for the addresses of a service, until `ok` holds for the answer. */
async function lookUp(
  lab: InteropLab,
  service: string,
  ok: (addrs: Record<string, unknown>[]) => boolean,
): Promise<Record<string, unknown>[]> {
  const script = join(lab.dir, "lookup.py");
  await writeFile(script, LOOKUP);
  let last: Record<string, unknown>[] = [];
  await waitFor(
    async () => {
      const p = lab.py(`lookup-${lookups++}`, "python", [script, service]);
      await p.exited;
      const line = (await outputOf(p))
        .split("\n")
        .find((l) => l.startsWith("ADDR "));
      last =
        line === undefined
          ? []
          : (JSON.parse(line.slice(5)) as Record<string, unknown>[]);
      return Array.isArray(last) && ok(last);
    },
    `the nameserver lists ${service}`,
    30_000,
  );
  return last;
}

async function flow(
  lab: InteropLab,
  client: "python" | "move_it",
): Promise<{ sub: NsProcess; site: Awaited<ReturnType<typeof makeSite>> }> {
  const site = await makeSite(join(lab.dir, "site"));
  const out = join(lab.dir, "out");
  await mkdir(out);
  const sIni = await ini(
    lab,
    "server.ini",
    `[interop]\norigin = ${site.inDir}/{name}.dat\ntopic = ${TOPIC}\nrequest_port = ${REQ}\nrequest_address = 127.0.0.1\n`,
  );
  const cIni = await ini(
    lab,
    "client.ini",
    `[interop]\nproviders = 127.0.0.1:${PUB}\ndestination = file://${out}/\ntopic = ${TOPIC}\npublish_port = 0\nnameservers = localhost\n`,
  );
  lab.ours("ts-server", "server", [
    sIni,
    "-p",
    String(PUB),
    "--host",
    "127.0.0.1",
    "--disable-backlog",
    "--state-dir",
    join(lab.dir, "state"),
    "-v",
  ]);
  if (client === "python") lab.py("py-client", "move_it_client", ["-v", cIni]);
  else lab.ours("ts-client", "client", [cIni, "-v"]);
  await lab.reachable(PUB);
  await lookUp(lab, "move_it_interop", (a) => a.length > 0);
  const script = join(lab.dir, "subscribe.py");
  await writeFile(script, SUBSCRIBER);
  const sub = lab.py("py-sub", "python", [script, "move_it_interop", TOPIC]);
  await waitFor(
    async () => (await outputOf(sub)).includes("READY"),
    "the Python subscriber found the client",
    40_000,
  );
  const seen = async (name: string): Promise<boolean> =>
    (await received(sub)).some(
      (m) => m.type === "file" && m.dataObject["uid"] === name,
    );
  await warmUp([site], seen, 1000);
  const files = makeFiles("ns", [10, 2000, 300_000, 77]);
  await drop([site], files);
  await waitFor(
    async () => {
      const got = new Set(
        (await received(sub))
          .filter((m) => m.type === "file")
          .map((m) => String(m.dataObject["uid"])),
      );
      return [...files.keys()].every((n) => got.has(n));
    },
    "the Python subscriber received a file message for every file",
    60_000,
  );
  const counts = tally(
    (await received(sub))
      .filter((m) => m.type === "file")
      .map((m) => String(m.dataObject["uid"])),
  );
  for (const name of files.keys())
    assert.equal(
      counts.get(name),
      1,
      `${name} received ${counts.get(name)} times`,
    );
  return { sub, site };
}

test(
  "interop/nameserver - a move_it client with publish_port = 0 registers with Python's nameserver; a Python subscriber finds it and gets its messages",
  { skip, timeout: 150_000 },
  async (t) => {
    await inLab(t, "nspy", async (lab) => {
      lab.py("py-nameserver", "nameserver", ["--no-multicast", "-v"]);
      await lab.reachable(5557);
      await flow(lab, "move_it");
      const [entry] = await lookUp(
        lab,
        "move_it_interop",
        (a) => a.length === 1,
      );
      assert.ok(entry !== undefined);
      assert.match(String(entry["URI"]), /^tcp:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(entry["URI"], "tcp://127.0.0.1:0");
      assert.deepEqual(entry["service"], ["move_it_interop"]);
      assert.equal(entry["supported_message_version"], "v1.2");
      assert.equal(entry["backend"], "unsecure_zmq");
      assert.equal(entry["status"], true);
    });
  },
);

test(
  "interop/nameserver - move_it_nameserver: a Python client registers with it, a Python subscriber looks it up there; a move_it client is listed too",
  { skip, timeout: 150_000 },
  async (t) => {
    await inLab(t, "nsts", async (lab) => {
      lab.ours("ts-nameserver", "nameserver", ["--no-multicast", "-v"]);
      await lab.reachable(5557);
      await flow(lab, "python");
      const [entry] = await lookUp(
        lab,
        "move_it_interop",
        (a) => a.length === 1,
      );
      assert.ok(entry !== undefined);
      assert.match(String(entry["URI"]), /^tcp:\/\/[\d.]+:\d+$/);
      assert.deepEqual(entry["service"], ["move_it_interop"]);
      assert.equal(entry["status"], true);
      assert.equal(entry["name"], "address");
      assert.match(
        String(entry["receive_time"]),
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/,
      );

      // A move_it client on another section is found by name, and "" lists every publisher.
      const other = await ini(
        lab,
        "client2.ini",
        `[second]\nproviders = 127.0.0.1:${PUB}\ndestination = file://${join(lab.dir, "out2")}/\ntopic = /interop/other\npublish_port = 0\nnameservers = localhost\n`,
      );
      lab.ours("ts-client2", "client", [other, "-v"]);
      const [second] = await lookUp(
        lab,
        "move_it_second",
        (a) => a.length === 1,
      );
      assert.deepEqual(second?.["service"], ["move_it_second"]);
      const all = await lookUp(lab, "", (a) => a.length >= 3);
      const services = all.map((a) => JSON.stringify(a["service"])).sort();
      assert.deepEqual(services, [
        '["address_receiver","addresses"]',
        '["move_it_interop"]',
        '["move_it_second"]',
      ]);
    });
  },
);
