/**
 * `npm run demo`: a move_it_server and a move_it_client, the real commands
 * as separate processes on 127.0.0.1, moving a few sample files (EUMETCast
 * HRIT-style names) from a watched directory to a destination directory.
 * Prints what arrived, with sizes and sha256, then stops both; their logs
 * are kept, and it says where.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rename,
  rm,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../src/util/ports.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PATTERN =
  "H-000-{series:_<6s}-{platform_name:_<5s}_______-{channel:_<9s}-{segment:_<9s}-{nominal_time:%Y%m%d%H%M}-{compressed:_<2s}";

function start(cmd: string, args: string[], logFile: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [join(ROOT, "bin", `${cmd}.js`), ...args, "-l", logFile],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  child.on("exit", (code, sig) => {
    if (code !== 0 && sig === null)
      console.error(`${cmd} exited with code ${code}; see ${logFile}`);
  });
  return child;
}

function sha256(buf: Buffer): string {
  return createHash("sha256").update(buf).digest("hex");
}

async function waitForFiles(
  dir: string,
  count: number,
  timeoutMs: number,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const names = (await readdir(dir).catch(() => [] as string[])).filter(
      (n) => !n.startsWith("."),
    );
    if (names.length >= count || Date.now() > deadline) return names.sort();
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Wait until a bunyan log holds a record with this `msg` (at most 60 s). */
async function waitForRecord(file: string, msg: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  const needle = `"msg":${JSON.stringify(msg)}`;
  while (!(await readFile(file, "utf8").catch(() => "")).includes(needle)) {
    if (Date.now() > deadline)
      throw new Error(`no "${msg}" in ${file} within 60 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "move_it-demo-"));
  const [inDir, outDir, stage] = ["in", "out", "stage"].map((d) =>
    join(work, d),
  ) as [string, string, string];
  await Promise.all([mkdir(inDir), mkdir(stage)]);
  const [pubPort, reqPort] = [await freePort(), await freePort()];
  await writeFile(
    join(work, "server.ini"),
    `[hrit]\norigin = ${inDir}/${PATTERN}\ntopic = /1b/hrit-segment/0deg\nrequest_port = ${reqPort}\nrequest_address = 127.0.0.1\ninfo = sensor=seviri;variant=0deg\n`,
  );
  await writeFile(
    join(work, "client.ini"),
    `[hrit]\nproviders = 127.0.0.1:${pubPort}\ndestination = file://${outDir}/{platform_name}/\ntopic = /1b/hrit-segment/0deg\npublish_port = 0\nnameservers = false\nplatform_name = MSG4:Meteosat-11\n`,
  );
  const procs = [
    start(
      "move_it_server",
      [
        join(work, "server.ini"),
        "-p",
        String(pubPort),
        "--host",
        "127.0.0.1",
        "--disable-backlog",
      ],
      join(work, "server.log"),
    ),
    start(
      "move_it_client",
      [join(work, "client.ini"), "--host", "127.0.0.1"],
      join(work, "client.log"),
    ),
  ];
  try {
    // Drop the files once the server watches and the client hears it (the server runs with --disable-backlog).
    await Promise.all([
      waitForRecord(join(work, "server.log"), "server started"),
      waitForRecord(join(work, "client.log"), "provider heard"),
    ]);
    const sent = new Map<string, string>();
    for (let seg = 1; seg <= 8; seg++) {
      const name = `H-000-MSG4__-MSG4________-IR_108___-${String(seg).padStart(6, "0")}___-202411221200-__`;
      const body = Buffer.from(`segment ${seg} `.repeat(4096 * seg));
      sent.set(name, sha256(body));
      await writeFile(join(stage, name), body);
      await rename(join(stage, name), join(inDir, name));
    }
    console.log(`dropped ${sent.size} HRIT segments into ${inDir}`);
    const arrivedDir = join(outDir, "MSG4");
    const names = await waitForFiles(arrivedDir, sent.size, 15_000);
    let ok = 0;
    for (const n of names) {
      const body = await readFile(join(arrivedDir, n));
      const good = sent.get(n) === sha256(body);
      ok += good ? 1 : 0;
      console.log(
        `${good ? "arrived" : "CORRUPT"}  ${join(arrivedDir, n)}  ${body.length} bytes  sha256 ${sha256(body).slice(0, 16)}…`,
      );
    }
    console.log(`${ok}/${sent.size} files arrived intact`);
    if (ok !== sent.size) process.exitCode = 1;
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(
      procs.map(
        (p) =>
          new Promise((r) =>
            p.exitCode !== null ? r(null) : p.once("exit", r),
          ),
      ),
    );
    // The files moved are removed; the logs and configs stay for reading (npx bunyan FILE).
    if (process.exitCode !== 1)
      await Promise.all(
        [inDir, outDir, stage].map((d) =>
          rm(d, { recursive: true, force: true }),
        ),
      );
    console.log(
      `logs kept in ${work}: server.log, client.log (read them with: npx bunyan ${join(work, "server.log")}); remove the directory when done`,
    );
  }
}

void main();
