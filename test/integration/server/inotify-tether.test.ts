/**
 * inotifywait dies with the process that started it, even one killed with
 * SIGKILL: an orphaned inotifywait holds one of root's 128 inotify instances
 * forever, and a few test runs of kill -9 exhausted them.
 */
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { test } from "node:test";
import { inotifyAvailable } from "../../../src/server/inotify.js";
import { tempDir } from "../../helpers/tmp.js";
import { waitFor } from "../../helpers/wait.js";

const skip = inotifyAvailable()
  ? false
  : process.env["CI"] === "true"
    ? false
    : "inotifywait not installed (apt-get install inotify-tools)";

const HOLDER = `
const { InotifySource } = await import(process.argv[1]);
const log = { warn() {}, error() {}, info() {}, debug() {} };
await new InotifySource({ root: process.argv[2], onFile() {}, log }).start();
console.log("ready");
setInterval(() => {}, 1000);
`;

/** inotifywait processes watching `dir`. */
function watchers(dir: string): number {
  const out = execFileSync("ps", ["-eo", "comm,args"], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.startsWith("inotifywait") && l.includes(dir)).length;
}

test(
  "server/inotify - inotifywait goes when its server is killed with SIGKILL",
  { skip },
  async (t) => {
    const dir = await tempDir(t, "move_it-tether-");
    const mod = new URL("../../../src/server/inotify.js", import.meta.url)
      .pathname;
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", HOLDER, mod, dir],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    t.after(() => child.kill("SIGKILL"));
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    await waitFor(() => out.includes("ready"), "the watcher started", 10_000);
    assert.equal(watchers(dir), 1, "one inotifywait while the holder runs");
    child.kill("SIGKILL");
    await waitFor(
      () => watchers(dir) === 0,
      "inotifywait gone after SIGKILL of its parent",
      5000,
    );
  },
);
