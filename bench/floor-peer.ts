/**
 * One side of the latency floor (floor.ts): the hand-offs a move_it pair
 * makes for one file, with none of the work between them.
 *
 * `node floor-peer.js server IN OUT PUB_PORT REQ_PORT`: watches IN the way
 * move_it_server does (its `inotifywait` child, closed-after-write and
 * moved-in), publishes each file's name on a PUB socket and answers each
 * request naming a file by hard-linking it from IN into OUT (by a copy to
 * a dot-named temporary and a rename, when OUT is on another filesystem).
 *
 * `node floor-peer.js client PUB_PORT REQ_PORT`: takes each published name
 * and asks for it on a REQ socket, one request at a time.
 *
 * Both sockets take the options move_it's do (`sendTimeout: 0`). Runs until
 * it is signalled.
 */
import { copyFileSync, linkSync, renameSync } from "node:fs";
import { basename, join } from "node:path";
import * as zmq from "zeromq";
import { nullLogger } from "../src/log.js";
import { InotifySource } from "../src/server/inotify.js";

const HOST = "127.0.0.1";

async function server(
  inDir: string,
  outDir: string,
  pubPort: string,
  reqPort: string,
): Promise<void> {
  const pub = new zmq.Publisher({ sendTimeout: 0 });
  const router = new zmq.Router({ sendTimeout: 0 });
  await pub.bind(`tcp://${HOST}:${pubPort}`);
  await router.bind(`tcp://${HOST}:${reqPort}`);
  const watch = new InotifySource({
    root: inDir,
    log: nullLogger,
    onFile: (path) => void pub.send(basename(path)).catch(() => undefined),
  });
  await watch.start();
  for await (const [identity, empty, name] of router) {
    const file = name?.toString() ?? "";
    let reply = "ok";
    try {
      deliver(join(inDir, file), join(outDir, file));
    } catch (err) {
      reply = `err ${(err as Error).message}`;
    }
    await router.send([identity!, empty!, reply]);
  }
}

function deliver(source: string, target: string): void {
  try {
    linkSync(source, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
    const tmp = join(target, "..", `.${basename(target)}`);
    copyFileSync(source, tmp);
    renameSync(tmp, target);
  }
}

async function client(pubPort: string, reqPort: string): Promise<void> {
  const sub = new zmq.Subscriber();
  sub.connect(`tcp://${HOST}:${pubPort}`);
  sub.subscribe();
  const req = new zmq.Request({ sendTimeout: 0 });
  req.connect(`tcp://${HOST}:${reqPort}`);
  for await (const [name] of sub) {
    await req.send(name!);
    await req.receive();
  }
}

const [role, ...args] = process.argv.slice(2);
const run =
  role === "server" && args.length === 4
    ? server(args[0]!, args[1]!, args[2]!, args[3]!)
    : role === "client" && args.length === 2
      ? client(args[0]!, args[1]!)
      : Promise.reject(
          new Error(
            "usage: floor-peer server IN OUT PUB_PORT REQ_PORT | client PUB_PORT REQ_PORT",
          ),
        );
run.catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
