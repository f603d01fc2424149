import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  link,
  mkdir,
  readdir,
  readFile,
  stat,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Message } from "../../src/message/index.js";
import { serverProc } from "../helpers/server-proc.js";
import { tempDir } from "../helpers/tmp.js";
import { request } from "../helpers/zmq.js";

const sha = (b: Buffer | string): string =>
  createHash("sha256").update(b).digest("hex");

test("e2e/server-hardlink - pushes repeated onto hard links of the same file leave no .part behind", async (t) => {
  const dir = await tempDir(t);
  const [origin, out] = [join(dir, "in"), join(dir, "out")];
  await mkdir(origin);
  await mkdir(out);
  const N = 300;
  const bodies = new Map<string, string>();
  for (let i = 0; i < N; i++) {
    const name = `h${i}.dat`;
    bodies.set(name, `content of ${name} `.repeat(50));
    await writeFile(join(origin, name), bodies.get(name)!);
    // Half the destination already holds a hard link to the very same file.
    if (i % 2 === 0) await link(join(origin, name), join(out, name));
  }
  const srv = await serverProc(
    t,
    dir,
    [{ name: "h", origin: `${origin}/{name}.dat`, topic: "/hl/test" }],
    { args: ["--disable-backlog"] },
  );
  await srv.start();
  const port = srv.ports["h"]!;
  const names = [...bodies.keys()];
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < names.length; i += 25) {
      const replies = await Promise.all(
        names.slice(i, i + 25).map((n) =>
          request(
            port,
            new Message("/hl/test", "push", {
              uri: join(origin, n),
              uid: n,
              destination: `file://${out}/`,
            }),
            30_000,
          ),
        ),
      );
      for (const r of replies)
        assert.equal(r.type, "file", `push answered ${r.encode()}`);
    }
  }
  const left = await readdir(out);
  assert.deepEqual(
    left.filter((n) => n.endsWith(".part")),
    [],
    "temporary links left behind",
  );
  assert.equal(left.length, N);
  for (const [name, body] of bodies) {
    const [a, b] = await Promise.all([
      stat(join(origin, name)),
      stat(join(out, name)),
    ]);
    assert.equal(a.ino, b.ino, `${name} is not a hard link of the source`);
    assert.equal(sha(await readFile(join(out, name))), sha(body));
  }
});
