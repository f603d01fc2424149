/**
 * The file mover on real filesystems: a hard link within one, a copy to a
 * tmpfs mounted for the test (another filesystem, so link() fails with
 * EXDEV). Small files are copied on the spot and big ones through the thread
 * pool; both must arrive whole under the final name, with no temporary left,
 * also when the destination fills up, and a refused link must not stop
 * links between other directories.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { appendFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { FileMover } from "../../../src/movers/file.js";
import { SYNC_COPY_MAX } from "../../../src/util/local-fs.js";
import {
  captureLog,
  randomFile,
  request,
  sha256File,
} from "../../helpers/mover-kit.js";
import { tempDir, tmpfs } from "../../helpers/tmp.js";

const mover = new FileMover();

/** A source directory on the temp dir's filesystem and a destination on a fresh tmpfs. */
async function twoFilesystems(
  t: TestContext,
  size = "64m",
): Promise<{ src: string; other: string }> {
  const src = await tempDir(t, "move_it-file-src-");
  const other = await tmpfs(t, size);
  assert.notEqual(
    (await stat(src)).dev,
    (await stat(other)).dev,
    "the tmpfs is another filesystem",
  );
  return { src, other };
}

/** Append to `path` until its filesystem says it is full. */
async function fillUp(path: string): Promise<void> {
  const chunk = randomBytes(16 * 1024);
  for (;;) {
    try {
      await appendFile(path, chunk);
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, "ENOSPC");
      return;
    }
  }
}

async function move(source: string, destDir: string) {
  const { log } = captureLog();
  return mover.move(request(source, `file://${destDir}/`, log));
}

describe("FileMover", () => {
  it("hard-links within one filesystem", async (t) => {
    const src = await tempDir(t, "move_it-file-src-");
    const dest = await tempDir(t, "move_it-file-dest-");
    const f = await randomFile(src, "a.dat", 10_000);
    const res = await move(f.path, dest);
    assert.equal(res.method, "link");
    assert.equal(res.bytes, 10_000);
    assert.equal(
      (await stat(join(dest, "a.dat"))).ino,
      (await stat(f.path)).ino,
    );
  });

  it("copies to another filesystem, small and big files alike, whole and with no temporary left", async (t) => {
    const { src, other } = await twoFilesystems(t);
    const sizes = [
      0,
      1,
      10 * 1024,
      SYNC_COPY_MAX,
      SYNC_COPY_MAX + 1,
      3 * 1024 * 1024 + 7,
    ];
    for (const [i, size] of sizes.entries()) {
      const f = await randomFile(src, `f${i}.dat`, size);
      const res = await move(f.path, other);
      assert.equal(res.method, "copy", `size ${size}`);
      assert.equal(res.bytes, size, `size ${size}`);
      assert.equal(await sha256File(join(other, `f${i}.dat`)), f.sha256);
      // A copy, not a link: the source is untouched and separate.
      assert.equal((await stat(f.path)).nlink, 1);
    }
    assert.deepEqual(
      (await readdir(other)).sort(),
      sizes.map((_, i) => `f${i}.dat`).sort(),
    );
  });

  it("goes on copying a burst once links are known to fail, replacing a file sent again", async (t) => {
    const { src, other } = await twoFilesystems(t);
    const files = [];
    for (let i = 0; i < 100; i++)
      files.push(await randomFile(src, `b${i}.dat`, 2000 + i));
    for (const f of files)
      assert.equal((await move(f.path, other)).method, "copy");
    // The same name again, with other contents: the new bytes replace the old.
    await writeFile(files[0]!.path, "new contents");
    assert.equal((await move(files[0]!.path, other)).bytes, 12);
    assert.equal(
      await readdir(other).then((n) => n.length),
      100,
      "one file per name, no temporaries",
    );
    for (const f of files.slice(1))
      assert.equal(
        await sha256File(join(other, f.path.slice(src.length + 1))),
        f.sha256,
      );
    // A directory that is not there yet is made, on the copy path too.
    const deeper = join(other, "x", "y");
    const res = await move(files[1]!.path, deeper);
    assert.equal(res.method, "copy");
    assert.equal(await sha256File(join(deeper, "b1.dat")), files[1]!.sha256);
  });

  it("still links between other directories after a copy elsewhere", async (t) => {
    const { src, other } = await twoFilesystems(t);
    const same = await tempDir(t, "move_it-file-same-");
    const f = await randomFile(src, "c.dat", 5000);
    assert.equal((await move(f.path, other)).method, "copy");
    assert.equal((await move(f.path, same)).method, "link");
  });

  it("fails cleanly when the destination is full, small or big, and leaves no temporary", async (t) => {
    const { src, other } = await twoFilesystems(t, "1m");
    const big = await randomFile(src, "big.dat", 2 * 1024 * 1024);
    await assert.rejects(move(big.path, other), /no space left on device/);
    assert.deepEqual(await readdir(other), []);
    // Fill it, then a small (on-the-spot) copy fails the same way.
    await fillUp(join(other, "filler"));
    const small = await randomFile(src, "small.dat", 32 * 1024);
    await assert.rejects(move(small.path, other), /no space left on device/);
    assert.deepEqual(await readdir(other), ["filler"]);
  });

  it("names a missing source", async (t) => {
    const { src, other } = await twoFilesystems(t);
    await assert.rejects(
      move(join(src, "absent.dat"), other),
      /no such file or directory/,
    );
    assert.deepEqual(await readdir(other), []);
  });
});
