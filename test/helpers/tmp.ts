import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A fresh temp dir removed after the test. */
export async function tempDir(
  t: TestContext,
  prefix = "move_it-",
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A tmpfs of `size` (e.g. "4m") mounted on a fresh directory, unmounted after the test (needs root). */
export async function tmpfs(t: TestContext, size: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "move_it-tmpfs-"));
  await run("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  t.after(async () => {
    await run("umount", ["-l", dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}
