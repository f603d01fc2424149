import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { link, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { inotifyAvailable } from "../../src/server/inotify.js";
import { inCi } from "../helpers/daemon.js";
import { serverProc } from "../helpers/server-proc.js";
import { tempDir } from "../helpers/tmp.js";
import { probeUntil } from "../helpers/lab.js";
import { waitFor } from "../helpers/wait.js";
import { collect } from "../helpers/zmq.js";
import type { Message } from "../../src/message/index.js";

const run = promisify(execFile);

/** Move files into `origin` (or write them in place when `dir` is on another filesystem). */
async function dropMany(
  dir: string | undefined,
  origin: string,
  prefix: string,
  n: number,
): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${prefix}${i}.dat`;
    if (dir === undefined) {
      await writeFile(join(origin, name), `${prefix} ${i}`);
    } else {
      await writeFile(join(dir, `.${name}`), `${prefix} ${i}`);
      await rename(join(dir, `.${name}`), join(origin, name));
    }
    names.push(name);
  }
  return names;
}

function uids(got: Message[]): Set<string> {
  return new Set(got.map((m) => String(m.dataObject["uid"])));
}

/** Probe files moved into `probeDir` every 0.2 s until `got` has a message: the subscriber is connected. */
async function connected(
  dir: string,
  probeDir: string,
  got: Message[],
): Promise<void> {
  await probeUntil(
    async (i) => {
      await writeFile(join(dir, ".probe"), "p");
      await rename(join(dir, ".probe"), join(probeDir, `probe${i}.dat`));
      return `probe${i}.dat`;
    },
    () => got.length > 0,
    200,
  );
}

/** Move one more file into `origin` and wait for its announcement: what a fault would have announced twice is in by then. */
async function sentinel(
  dir: string | undefined,
  origin: string,
  got: Message[],
): Promise<void> {
  const [name] = await dropMany(dir, origin, "sentinel", 1);
  await waitFor(
    () => uids(got).has(name!),
    "the sentinel file announced",
    30_000,
  );
}

test("e2e/server-watch - origin missing at start: a warning naming chain and directory, then used once it appears", async (t) => {
  const dir = await tempDir(t);
  const origin = join(dir, "later", "in");
  const probeDir = join(dir, "probe");
  await mkdir(probeDir);
  const srv = await serverProc(
    t,
    dir,
    [
      { name: "late", origin: `${origin}/{name}.dat`, topic: "/watch/late" },
      {
        name: "probe",
        origin: `${probeDir}/{name}.dat`,
        topic: "/watch/probe",
      },
    ],
    { args: ["--disable-backlog"] },
  );
  await srv.start();
  const warning = (await srv.records()).find(
    (r) => r["msg"] === "origin directory missing, waiting for it",
  );
  assert.ok(warning !== undefined, "no warning about the missing directory");
  assert.equal(warning["chain"], "late");
  assert.equal(warning["root"], origin);
  assert.ok(Number(warning["level"]) >= 40, "the warning is below warn level");
  const got = collect(t, srv.publishPort, ["/watch/"]);
  await connected(dir, probeDir, got);
  await mkdir(origin, { recursive: true });
  await waitFor(
    async () =>
      (await srv.records()).some(
        (r) => r["msg"] === "origin directory appeared, watching",
      ),
    "watch established",
  );
  const names = await dropMany(dir, origin, "late", 150);
  await waitFor(
    () => names.every((n) => uids(got).has(n)),
    "all 150 files announced",
    30_000,
  );
  await sentinel(dir, origin, got);
  assert.equal(
    got.filter(
      (m) =>
        m.subject === "/watch/late" &&
        String(m.dataObject["uid"]).startsWith("late"),
    ).length,
    150,
    "a file announced twice",
  );
});

test("e2e/server-watch - origin deleted and recreated, then mounted over, while running: watched again without a restart", async (t) => {
  const dir = await tempDir(t);
  const origin = join(dir, "in");
  const probeDir = join(dir, "probe");
  await mkdir(origin);
  await mkdir(probeDir);
  const srv = await serverProc(
    t,
    dir,
    [
      { name: "w", origin: `${origin}/{name}.dat`, topic: "/watch/w" },
      {
        name: "probe",
        origin: `${probeDir}/{name}.dat`,
        topic: "/watch/probe",
      },
    ],
    { args: ["--disable-backlog"] },
  );
  await srv.start();
  const got = collect(t, srv.publishPort, ["/watch/w"]);
  const probe = collect(t, srv.publishPort, ["/watch/probe"]);
  await connected(dir, probeDir, probe);
  const first = await dropMany(dir, origin, "a", 100);
  await waitFor(
    () => first.every((n) => uids(got).has(n)),
    "files before the deletion",
  );

  await rm(origin, { recursive: true });
  await waitFor(
    async () =>
      (await srv.records()).some(
        (r) => r["msg"] === "origin directory gone, waiting for it",
      ),
    "deletion noticed",
  );
  await mkdir(origin);
  await waitFor(
    async () =>
      (await srv.records()).some(
        (r) => r["msg"] === "origin directory appeared, watching",
      ),
    "re-watched",
  );
  const second = await dropMany(dir, origin, "b", 100);
  await waitFor(
    () => second.every((n) => uids(got).has(n)),
    "files after the re-creation",
    30_000,
  );

  // Mounted over (as a remount or an NFS mount that came back): another device, watched again.
  const mounted = await run("mount", [
    "-t",
    "tmpfs",
    "-o",
    "size=4m",
    "tmpfs",
    origin,
  ]).then(
    () => true,
    (err: Error) => {
      if (inCi()) throw err;
      return false;
    },
  );
  if (mounted) {
    try {
      await waitFor(
        async () =>
          (await srv.records()).some(
            (r) => r["msg"] === "origin directory replaced, watching again",
          ),
        "remount noticed",
      );
      const third = await dropMany(undefined, origin, "c", 100);
      await waitFor(
        () => third.every((n) => uids(got).has(n)),
        "files after the mount",
        30_000,
      );
      await sentinel(undefined, origin, got);
    } finally {
      // Before the temp dir is removed (its cleanup runs first).
      await srv.kill9();
      await run("umount", ["-l", origin]);
    }
  } else {
    await sentinel(dir, origin, got);
  }
  assert.equal(got.length, uids(got).size, "a file announced twice");
});

test(
  "e2e/server-watch - the reconcile scan announces what no event reported, once",
  { skip: !inotifyAvailable() && !inCi() ? "inotifywait missing" : undefined },
  async (t) => {
    const dir = await tempDir(t);
    const origin = join(dir, "in");
    const outside = join(dir, "outside");
    await mkdir(origin);
    await mkdir(outside);
    await writeFile(
      join(origin, "old.dat"),
      "there before a start without backlog",
    );
    const srv = await serverProc(
      t,
      dir,
      [
        {
          name: "r",
          origin: `${origin}/{name}.dat`,
          topic: "/watch/r",
          extra: "rescan_interval = 1\n",
        },
      ],
      { args: ["--disable-backlog"] },
    );
    await srv.start();
    const got = collect(t, srv.publishPort, ["/watch/r"]);
    await connected(dir, origin, got);
    // inotify reports files closed after writing or moved in; a hard link made into origin is neither: a missed event.
    const names: string[] = [];
    for (let i = 0; i < 100; i++) {
      const name = `l${i}.dat`;
      await writeFile(join(outside, name), `linked ${i}`);
      await link(join(outside, name), join(origin, name));
      names.push(name);
    }
    await waitFor(
      () => names.every((n) => uids(got).has(n)),
      "all linked files announced by the rescan",
      30_000,
    );
    // The log file is written asynchronously: its records may lag the announcements by a moment.
    const found = async (): Promise<number> =>
      (await srv.records()).filter(
        (r) => r["msg"] === "file found by rescan, announcing",
      ).length;
    await waitFor(
      async () => (await found()) >= 100,
      "100 'file found by rescan' records",
      30_000,
    );
    // Further scans find nothing new: checked after two more scans and then a file linked in afterwards, found by a
    // later scan still and announced (what those scans announced again is in by then).
    const scans = async (): Promise<number> =>
      (await srv.records()).filter((r) => r["msg"] === "rescan done").length;
    const before = await scans();
    await waitFor(
      async () => (await scans()) >= before + 2,
      "two more scans",
      30_000,
    );
    await writeFile(join(outside, "sentinel.dat"), "linked last");
    await link(join(outside, "sentinel.dat"), join(origin, "sentinel.dat"));
    await waitFor(
      () => uids(got).has("sentinel.dat"),
      "the file linked in last announced by a rescan",
      30_000,
    );
    assert.equal(
      got.filter((m) => String(m.dataObject["uid"]).startsWith("l")).length,
      100,
      "a file announced twice",
    );
    assert.equal(
      uids(got).has("old.dat"),
      false,
      "the rescan announced a file the disabled backlog left out",
    );
    // Records of the linked files only (a probe moved in as a scan ran may be found by it).
    const linked = async (): Promise<string[]> =>
      (await srv.records())
        .filter(
          (r) =>
            r["msg"] === "file found by rescan, announcing" &&
            /\/(l\d+|sentinel)\.dat$/.test(String(r["path"])),
        )
        .map((r) => String(r["path"]));
    await waitFor(
      async () => (await linked()).some((p) => p.endsWith("/sentinel.dat")),
      "a 'file found by rescan' record for the last file",
    );
    assert.equal(
      (await linked()).length,
      101,
      "a linked file found by rescan twice",
    );
  },
);
