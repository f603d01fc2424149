import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Message } from "../../src/message/index.js";
import { silentServer } from "../helpers/daemon.js";
import { serverProc } from "../helpers/server-proc.js";
import { tempDir } from "../helpers/tmp.js";
import { collectAnnounced } from "../helpers/lab.js";
import { waitFor } from "../helpers/wait.js";
import { request } from "../helpers/zmq.js";

interface Pong {
  station?: string;
  push_running?: boolean;
  move_it?: { instance?: string; catchup?: boolean };
}

test("e2e/server-pong - pong names the process instance (new after a restart) and whether a push of a uid runs", async (t) => {
  const dir = await tempDir(t);
  const origin = join(dir, "in");
  await mkdir(origin);
  const srv = await serverProc(
    t,
    dir,
    [
      {
        name: "p",
        origin: `${origin}/{name}.dat`,
        topic: "/pong/test",
        extra:
          "station = kiruna\nconnection_parameters__connection_timeout = 60\n",
      },
    ],
    { args: ["--disable-backlog"] },
  );
  await srv.start();
  const port = srv.ports["p"]!;
  const ping = async (data?: Record<string, string>): Promise<Pong> => {
    const reply = await request(port, new Message("/pong/test", "ping", data));
    assert.equal(reply.type, "pong");
    return reply.data as Pong;
  };

  const plain = await ping();
  assert.equal(plain.station, "kiruna");
  assert.match(plain.move_it?.instance ?? "", /^[0-9a-f]{16}$/);
  assert.equal(plain.move_it?.catchup, true);
  assert.equal(
    "push_running" in plain,
    false,
    "a ping without push_uid gets no push_running",
  );
  assert.equal((await ping({ push_uid: "nothing.dat" })).push_running, false);

  // A push to an FTP server that never greets stays in flight until that server goes away.
  const announced = await collectAnnounced(
    t,
    srv.publishPort,
    ["/pong/test"],
    origin,
  );
  await writeFile(join(origin, "held.dat"), "held");
  await waitFor(
    () => announced.find((m) => m.dataObject["uid"] === "held.dat"),
    "held.dat announced",
  );
  const silent = await silentServer();
  const push = request(
    port,
    new Message("/pong/test", "push", {
      uri: join(origin, "held.dat"),
      uid: "held.dat",
      destination: `ftp://u:p@127.0.0.1:${silent.port}/out/`,
    }),
    60_000,
  );
  await waitFor(
    async () => (await ping({ push_uid: "held.dat" })).push_running === true,
    "push_running true during the push",
  );
  assert.equal((await ping({ push_uid: "other.dat" })).push_running, false);
  await silent.close();
  const reply = await push;
  assert.equal(reply.type, "err");
  assert.equal(
    (await ping({ push_uid: "held.dat" })).push_running,
    false,
    "push_running false once the push ended",
  );

  await srv.kill9();
  await srv.start(["--disable-backlog"]);
  const after = await ping();
  assert.match(after.move_it?.instance ?? "", /^[0-9a-f]{16}$/);
  assert.notEqual(
    after.move_it?.instance,
    plain.move_it?.instance,
    "a restarted server has a new instance",
  );
});
