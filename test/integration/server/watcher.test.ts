import assert from "node:assert/strict";
import { mkdir, open, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { nullLogger } from "../../../src/log.js";
import { inotifyAvailable } from "../../../src/server/inotify.js";
import {
  Watcher,
  watchRoot,
  type FileEvent,
} from "../../../src/server/watcher.js";
import { inCi } from "../../helpers/daemon.js";
import { tempDir } from "../../helpers/tmp.js";
import { delay, waitFor } from "../../helpers/wait.js";

test("server/watcher - watchRoot is the fixed directory before the first field", () => {
  assert.equal(watchRoot("/data/in/{name}.dat"), "/data/in");
  assert.equal(watchRoot("/data/{sat}/in/{name}.dat"), "/data");
  assert.equal(watchRoot("/data/in/H-*-{a}"), "/data/in");
});

if (inCi() && !inotifyAvailable()) {
  test("server/watcher - inotifywait is required in CI", () =>
    assert.fail("install inotify-tools"));
}

for (const mode of ["inotify", "chokidar", "polling"] as const) {
  const skip =
    mode === "inotify" && !inotifyAvailable()
      ? "inotifywait missing: apt-get install inotify-tools"
      : undefined;

  test(
    `server/watcher - ${mode}: moved-in, written-in-place, empty and backlog files`,
    { skip },
    async (t) => {
      const dir = await tempDir(t);
      const inDir = join(dir, "in", "sub");
      await mkdir(inDir, { recursive: true });
      await writeFile(join(inDir, "old.dat"), "backlog");
      await writeFile(join(inDir, "skip.txt"), "not matching");
      // settleMs 1000: a file written in place every 100 ms (below) is still growing for chokidar and polling too.
      const w = new Watcher({
        origin: `${dir}/in/{sat}/{name}.dat`,
        polling: mode === "polling",
        pollInterval: 0.1,
        backlog: true,
        settleMs: 1000,
        log: nullLogger,
        inotify: mode === "inotify",
      });
      t.after(() => w.close());
      const got: FileEvent[] = [];
      const names = (): string[] => got.map((e) => e.path.split("/").pop()!);
      void (async () => {
        for await (const ev of w) got.push(ev);
      })();
      await w.start();
      await waitFor(
        () => got.some((e) => e.path.endsWith("old.dat")),
        "backlog file",
      );
      const moveIn = async (name: string): Promise<void> => {
        await writeFile(join(dir, name), name);
        await rename(join(dir, name), join(inDir, name));
      };
      await moveIn("moved.dat");
      await waitFor(
        () => got.some((e) => e.path.endsWith("moved.dat")),
        "moved-in file",
      );
      // A file still open and growing is not yielded: checked once a file moved in while it grows was.
      const fh = await open(join(inDir, "grow.dat"), "w");
      let chunks = 0;
      for (; chunks < 6 || !names().includes("mid.dat"); chunks++) {
        await fh.write("chunk ");
        if (chunks === 2) await moveIn("mid.dat");
        await delay(100); // pacing: the file grows while the watcher runs
        if (chunks > 600) assert.fail("mid.dat never yielded");
      }
      assert.equal(
        names().includes("grow.dat"),
        false,
        "a file still open for writing was yielded",
      );
      await fh.close();
      await waitFor(
        () => got.some((e) => e.path.endsWith("grow.dat")),
        "written file after close",
      );
      // An empty file is never yielded: checked once a file written in place after it was (its wait for quiet began later).
      await writeFile(join(inDir, "empty.dat"), "");
      await writeFile(join(inDir, "after.dat"), "after");
      await waitFor(
        () => got.some((e) => e.path.endsWith("after.dat")),
        "a file written after the empty one",
      );
      assert.deepEqual(names(), [
        "old.dat",
        "moved.dat",
        "mid.dat",
        "grow.dat",
        "after.dat",
      ]);
      assert.equal(
        got.find((e) => e.path.endsWith("grow.dat"))?.size,
        6 * chunks,
      );
    },
  );
}
