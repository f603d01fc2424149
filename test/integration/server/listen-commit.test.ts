/**
 * A `listen` section re-announces files no watched directory holds, so the
 * ledger is the only thing that knows them once they are announced: a kill -9
 * between the announcement and the row's commit would leave the file out of
 * catch-up for good (found by e2e/server-listen, which hits that window only
 * now and then). Here the window is looked at directly: at the moment the
 * real publisher is handed each re-announcement, a second connection to the
 * ledger file must already see the file's row.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { ledgerPath } from "../../../src/ledger/sqlite.js";
import { nullLogger } from "../../../src/log.js";
import { Message } from "../../../src/message/index.js";
import { SERVER_LEDGER_NAME } from "../../../src/server/ledger.js";
import { Publisher } from "../../../src/transport/publisher.js";
import { startServer } from "../../helpers/server.js";
import { tempDir } from "../../helpers/tmp.js";
import { waitFor } from "../../helpers/wait.js";

test("server/listen-commit - each relayed file's ledger row is committed before its re-announcement is published", async (t) => {
  const dir = await tempDir(t, "move_it-listen-commit-");
  const data = join(dir, "data");
  const stateDir = join(dir, "state");
  await mkdir(data);
  const names = Array.from({ length: 20 }, (_, i) => `f${i}.dat`);
  for (const name of names) await writeFile(join(data, name), name);

  const upstream = new Publisher({
    bind: "tcp://127.0.0.1:0",
    log: nullLogger,
  });
  await upstream.start();
  t.after(() => upstream.close());

  // What a second connection sees of each file's row when the server's publisher gets its announcement.
  const seen = new Map<string, boolean>();
  let reader: BetterSqlite3.Database | undefined;
  const original = Object.getOwnPropertyDescriptor(
    Publisher.prototype,
    "publish",
  )!;
  const publish = original.value as Publisher["publish"];
  t.after(() => {
    Object.defineProperty(Publisher.prototype, "publish", original);
    reader?.close();
  });
  Publisher.prototype.publish = function (
    this: Publisher,
    msg: Message,
  ): Promise<void> {
    const uid = msg.dataObject["uid"];
    if (msg.subject === "/relay/data" && typeof uid === "string") {
      reader ??= new BetterSqlite3(ledgerPath(stateDir, SERVER_LEDGER_NAME), {
        readonly: true,
      });
      const row = reader
        .prepare("SELECT 1 FROM files WHERE chain = 'relay' AND uid = ?")
        .get(uid);
      if (!seen.has(uid)) seen.set(uid, row !== undefined);
    }
    return publish.call(this, msg);
  };

  await startServer(
    t,
    `[relay]\nlisten = /up/data\ntopic = /relay/data\naddresses = ${upstream.endpoint}\nnameserver = false\nrequest_port = 0\nrequest_address = 127.0.0.1\n`,
    { stateDir },
  );
  // The subscription joins a moment after the connection: announce until every file has been relayed.
  await waitFor(
    async () => {
      for (const name of names)
        if (!seen.has(name))
          await upstream.publish(
            new Message("/up/data", "file", {
              uri: join(data, name),
              uid: name,
            }),
          );
      return seen.size === names.length;
    },
    "every file re-announced",
    20_000,
  );
  assert.deepEqual(
    names.filter((name) => seen.get(name) !== true),
    [],
    "files announced before their ledger row was committed",
  );
});
