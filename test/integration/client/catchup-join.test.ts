/**
 * A catch-up asked for while another of the same server runs, against a real
 * server: the running one may have been answered before the newer file was
 * announced, so the later call must not take its answer; it runs once the
 * running one ended (calls made meanwhile share that one request).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Message } from "../../../src/message/index.js";
import { deferred } from "../../../src/util/abort.js";
import {
  ZmqRequester,
  type RequestOptions,
  type Requester,
} from "../../../src/transport/requester.js";
import {
  clientIni,
  dropFile,
  outDir,
  startClient,
  testServer,
  waitConnected,
} from "../../helpers/client-setup.js";
import { waitFor } from "../../helpers/wait.js";

/** The real requester; the replies to catch-up requests are held while `hold` is set (the server has answered). */
class HoldingRequester implements Requester {
  readonly real = new ZmqRequester();
  /** Catch-up replies received, with the files they named. */
  readonly answered: string[][] = [];
  hold: Promise<void> | undefined;

  async request(
    address: string,
    msg: Message,
    opts: RequestOptions,
  ): Promise<Message> {
    const reply = await this.real.request(address, msg, opts);
    if (msg.type !== "catchup") return reply;
    const messages = reply.dataObject["messages"];
    this.answered.push(
      (Array.isArray(messages) ? messages : []).map((m) =>
        String(Message.decode(String(m)).dataObject["uid"]),
      ),
    );
    if (this.hold !== undefined) await this.hold;
    return reply;
  }

  close(): void {
    this.real.close();
  }
}

test("client/catch-up - a call while a catch-up of the same server runs does not take that one's answer: it runs after it, once for every call made meanwhile", async (t) => {
  const srv = await testServer(t, "/t");
  const out = await outDir(t);
  const requester = new HoldingRequester();
  const { client, received } = await startClient(
    t,
    // No catch-up of its own when the server's first beat comes: only the test's.
    clientIni(
      "c",
      [`127.0.0.1:${srv.publishPort}`],
      "/t",
      out,
      "catch_up_window = 0\n",
    ),
    { requester },
  );
  await waitConnected(client, "c", 1);
  // Heard live: the ledger now knows the server's request address.
  await dropFile(srv.inDir, "one.dat", "1");
  await waitFor(() => received.length === 1, "one.dat received");
  assert.deepEqual(requester.answered, [], "no catch-up so far");

  const since = new Date(Date.now() - 3_600_000);
  const release = deferred<void>();
  requester.hold = release.promise;
  const first = client.catchUp(since, 0);
  await waitFor(
    () => requester.answered.length === 1,
    "the first catch-up answered by the server",
  );
  assert.deepEqual(requester.answered[0], ["one.dat"]);

  // Announced after the server answered the running catch-up.
  await dropFile(srv.inDir, "two.dat", "2");
  await waitFor(() => received.length === 2, "two.dat received");
  requester.hold = undefined;
  const second = client.catchUp(since, 0);
  const third = client.catchUp(since, 0);
  release.resolve();

  assert.equal((await first).files, 1);
  const [b, c] = await Promise.all([second, third]);
  assert.equal(b.files, 2, "the later call's catch-up names the newer file");
  assert.equal(c.files, 2);
  assert.deepEqual(
    requester.answered,
    [["one.dat"], ["one.dat", "two.dat"]],
    "one request for both later calls",
  );
});
