import assert from "node:assert/strict";
import { mkdir, open, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { nullLogger } from "../../../src/log.js";
import { inotifyAvailable } from "../../../src/server/inotify.js";
import { Watcher, watchRoot, type FileEvent } from "../../../src/server/watcher.js";
import { inCi } from "../../helpers/daemon.js";
import { tempDir } from "../../helpers/tmp.js";
import { delay, waitFor } from "../../helpers/wait.js";

test("server/watcher - watchRoot is the fixed directory before the first field", () => {
  assert.equal(watchRoot("/data/in/{name}.dat"), "/data/in");
  assert.equal(watchRoot("/data/{sat}/in/{name}.dat"), "/data");
  assert.equal(watchRoot("/data/in/H-*-{a}"), "/data/in");
});

if (inCi() && !inotifyAvailable()) {
  test("server/watcher - inotifywait is required in CI", () => assert.fail("install inotify-tools"));
}

for (const mode of ["inotify", "chokidar", "polling"] as const) {
  const skip = mode === "inotify" && !inotifyAvailable() ? "inotifywait missing: apt-get install inotify-tools" : undefined;

  test(`server/watcher - ${mode}: moved-in, written-in-place, empty and backlog files`, { skip }, async (t) => {
    const dir = await tempDir(t);
    const inDir = join(dir, "in", "sub");
    await mkdir(inDir, { recursive: true });
    await writeFile(join(inDir, "old.dat"), "backlog");
    await writeFile(join(inDir, "skip.txt"), "not matching");
    const w = new Watcher({ origin: `${dir}/in/{sat}/{name}.dat`, polling: mode === "polling", pollInterval: 0.1, backlog: true, settleMs: 300, log: nullLogger, inotify: mode === "inotify" });
    t.after(() => w.close());
    const got: FileEvent[] = [];
    void (async () => {
      for await (const ev of w) got.push(ev);
    })();
    await w.start();
    await waitFor(() => got.some((e) => e.path.endsWith("old.dat")), "backlog file");
    await writeFile(join(dir, "m"), "moved");
    await rename(join(dir, "m"), join(inDir, "moved.dat"));
    await waitFor(() => got.some((e) => e.path.endsWith("moved.dat")), "moved-in file");
    const fh = await open(join(inDir, "grow.dat"), "w");
    for (let i = 0; i < 6; i++) {
      await fh.write("chunk ");
      await delay(100);
    }
    assert.equal(got.some((e) => e.path.endsWith("grow.dat")), false, "a file still open for writing was yielded");
    await fh.close();
    await waitFor(() => got.some((e) => e.path.endsWith("grow.dat")), "written file after close");
    await writeFile(join(inDir, "empty.dat"), "");
    await delay(500);
    assert.deepEqual(got.map((e) => e.path.split("/").pop()), ["old.dat", "moved.dat", "grow.dat"]);
    assert.equal(got.find((e) => e.path.endsWith("grow.dat"))?.size, 36);
  });
}
