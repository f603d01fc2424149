/**
 * Server `listen` sections against the real thing, on loopback:
 *
 * A Python posttroll publisher (`Publish("upstream", nameservers=["localhost"])`)
 * registered with Python's nameserver announces files as they appear. A move_it
 * server section `listen = /up/data` with `services = upstream` finds it through
 * the nameserver and re-announces them; an unchanged Python server with the same
 * section (another topic and port) does too; a Python client fetches from the
 * move_it server. Every file arrives once, intact; the Python client publishes
 * one message per file; the move_it server deletes its copies after the push
 * (`delete`); and each of our announcements has the same type, keys in the same
 * order and the same values as the Python server's, `request_address` aside.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { Message } from "../../src/message/index.js";
import {
  assertDirHolds,
  assertIntact,
  drop,
  exists,
  inLab,
  ini,
  makeFiles,
  makeSite,
  published,
  skip,
  tally,
  uidOf,
  waitGone,
  waitPublished,
  warmUp,
} from "../helpers/interop-kit.js";
import type { NsSubscriber } from "../helpers/netns.js";
import { waitFor } from "../helpers/wait.js";

const UPSTREAM = 9040;
const TS_PUB = 9010;
const TS_REQ = 9201;
const PY_PUB = 9011;
const PY_REQ = 9202;
const CLIENT_PUB = 9030;
const SIZES = [1, 4096, 200_001, 1 << 20, 777];

// Announces every file that appears in a directory, as a pytroll producer does, registered with the nameserver.
const PRODUCER = `
import os, sys, time
from posttroll.message import Message
from posttroll.publisher import Publish
watch, topic, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = set()
with Publish("upstream", port=port, nameservers=["localhost"]) as pub:
    print("READY", flush=True)
    while True:
        for name in sorted(os.listdir(watch)):
            if name in seen:
                continue
            seen.add(name)
            path = os.path.join(watch, name)
            pub.send(str(Message(topic, "file", {"platform_name": "NOAA-20", "sensor": ["viirs"], "uri": path, "uid": name, "size": os.path.getsize(path)})))
        time.sleep(0.05)
`;

function listenIni(topic: string, reqPort: number, extra: string): string {
  return `[relay]\nlisten = /up/data\ntopic = ${topic}\nservices = upstream\nnameserver = localhost\nrequest_port = ${reqPort}\nrequest_address = 127.0.0.1\ninfo = gateway=gw1;kind=relay\n${extra}`;
}

function announcements(sub: NsSubscriber): Map<string, Message> {
  return new Map(published(sub, "file").map((m) => [uidOf(m), m]));
}

test(
  "interop/listen - a move_it listen server re-announces a Python producer's files found through Python's nameserver, as Python's does; a Python client fetches each once",
  { skip, timeout: 180_000 },
  async (t) => {
    await inLab(t, "listen", async (lab) => {
      const site = await makeSite(join(lab.dir, "site"));
      const out = join(lab.dir, "out");
      await mkdir(out);
      const producer = join(lab.dir, "producer.py");
      await writeFile(producer, PRODUCER);
      lab.py("py-nameserver", "nameserver", ["--no-multicast", "-v"]);
      await lab.reachable(5557);
      lab.py("py-producer", "python", [
        producer,
        site.inDir,
        "/up/data/viirs",
        String(UPSTREAM),
      ]);
      await lab.reachable(UPSTREAM);
      const tsIni = await ini(
        lab,
        "ts-server.ini",
        listenIni("/relay/ts", TS_REQ, "delete = True\nremove_delay = 1\n"),
      );
      const pyIni = await ini(
        lab,
        "py-server.ini",
        listenIni("/relay/py", PY_REQ, ""),
      );
      lab.ours("ts-server", "server", [
        tsIni,
        "-p",
        String(TS_PUB),
        "--host",
        "127.0.0.1",
        "--state-dir",
        join(lab.dir, "state"),
        "-v",
      ]);
      lab.py("py-server", "move_it_server", [
        "-p",
        String(PY_PUB),
        "-v",
        pyIni,
      ]);
      await lab.reachable(TS_PUB);
      await lab.reachable(PY_PUB);
      const cIni = await ini(
        lab,
        "client.ini",
        `[relay]\nproviders = 127.0.0.1:${TS_PUB}\ndestination = file://${out}/\ntopic = /relay/ts\npublish_port = ${CLIENT_PUB}\nnameservers = false\n`,
      );
      lab.py("py-client", "move_it_client", ["-v", cIni]);
      await lab.reachable(CLIENT_PUB);
      const fromTs = lab.lab.subscribe(
        lab.ns,
        "sub-ts",
        `tcp://127.0.0.1:${TS_PUB}`,
      );
      const fromPy = lab.lab.subscribe(
        lab.ns,
        "sub-py",
        `tcp://127.0.0.1:${PY_PUB}`,
      );
      const fromClient = lab.lab.subscribe(
        lab.ns,
        "sub-client",
        `tcp://127.0.0.1:${CLIENT_PUB}`,
      );
      // Through producer → nameserver look-up → both servers → the Python client, and our subscribers.
      await warmUp(
        [site],
        async (name) =>
          published(fromClient, "file").some((m) => uidOf(m) === name) &&
          announcements(fromPy).has(name) &&
          !(await exists(join(site.inDir, name))),
      );

      const files = makeFiles("listen", SIZES);
      await drop([site], files);
      await waitPublished(
        fromClient,
        files.keys(),
        "the Python client published a file message for every file",
      );
      await assertIntact(out, files);
      await waitGone(
        site.inDir,
        files.keys(),
        "the listen server deleted its copies after the push",
      );
      await assertDirHolds(out, files.keys());
      const counts = tally(published(fromClient, "file").map(uidOf));
      for (const name of files.keys())
        assert.equal(
          counts.get(name),
          1,
          `${name} published ${counts.get(name)} times by the client`,
        );

      await waitFor(
        () => [...files.keys()].every((n) => announcements(fromPy).has(n)),
        "the Python server re-announced every file",
        30_000,
      );
      const ours = announcements(fromTs);
      const theirs = announcements(fromPy);
      for (const name of files.keys()) {
        const a = ours.get(name);
        const b = theirs.get(name);
        assert.ok(
          a !== undefined && b !== undefined,
          `${name} announced by both`,
        );
        assert.equal(a.subject, "/relay/ts");
        assert.equal(a.type, b.type);
        assert.equal(a.version, b.version);
        const mine = { ...a.dataObject };
        const python = { ...b.dataObject };
        assert.equal(mine["request_address"], `127.0.0.1:${TS_REQ}`);
        assert.equal(python["request_address"], `127.0.0.1:${PY_REQ}`);
        delete mine["request_address"];
        delete python["request_address"];
        assert.deepEqual(
          Object.keys(a.dataObject),
          Object.keys(b.dataObject),
          "keys in the same order",
        );
        assert.deepEqual(mine, python);
        // The data as received off the wire, request_address aside, is the same bytes.
        const wire = (sub: NsSubscriber): string => {
          const frame = sub.frames.find(
            (f) => f.includes(" file ") && f.includes(`"uid": "${name}"`),
          );
          assert.ok(frame !== undefined, `raw frame of ${name}`);
          return frame
            .split(" application/json ")[1]!
            .replace(/"request_address": "[^"]*"/, "");
        };
        assert.equal(wire(fromTs), wire(fromPy));
      }
    });
  },
);
