import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { REPO } from "../helpers/procs.js";

/** STYLE §2: lower layers never import higher ones; each third-party package has one home. */
const LEVEL: Record<string, number> = {
  "errors.ts": 1,
  "log.ts": 1,
  "log-file.ts": 1,
  util: 1,
  message: 2,
  pattern: 2,
  config: 3,
  transport: 4,
  movers: 4,
  unpack: 4,
  ledger: 4,
  server: 5,
  client: 5,
  nameserver: 5,
  mirror: 6,
  observe: 6,
  cli: 7,
  "index.ts": 8,
};

const PACKAGE_HOME: Record<string, (file: string) => boolean> = {
  zeromq: (f) => f.startsWith("transport/"),
  chokidar: (f) => f === "server/watcher.ts",
  "basic-ftp": (f) => f.startsWith("movers/"),
  "ssh2-sftp-client": (f) => f.startsWith("movers/"),
  ssh2: (f) => f.startsWith("movers/"),
  "@aws-sdk": (f) => f.startsWith("movers/"),
  bunyan: (f) => f === "log.ts" || f.startsWith("cli/"),
  yargs: (f) => f.startsWith("cli/"),
  "prom-client": (f) => f === "observe/metrics.ts",
  tar: (f) => f.startsWith("unpack/"),
  "better-sqlite3": (f) => f === "ledger/sqlite.ts",
  yaml: (f) => f === "cli/posttroll-settings.ts" || f === "cli/log-config.ts",
  "rotating-file-stream": (f) => f === "log-file.ts",
};

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

const SRC = join(REPO, "src");
const files = sources(SRC).map((p) => ({
  rel: relative(SRC, p),
  text: readFileSync(p, "utf8"),
}));
const top = (rel: string): string =>
  rel.includes("/") ? rel.split("/")[0]! : rel;

function imports(text: string): string[] {
  return [...text.matchAll(/^(?:import|export)[^;]*?from\s+"([^"]+)"/gms)].map(
    (m) => m[1]!,
  );
}

test("layers - no module imports a higher layer, server and client stay apart", () => {
  const bad: string[] = [];
  for (const { rel, text } of files) {
    const from = top(rel);
    for (const spec of imports(text).filter((s) => s.startsWith("."))) {
      const target = relative(SRC, join(SRC, rel, "..", spec)).replace(
        /\.js$/,
        ".ts",
      );
      const to = top(target);
      if ((LEVEL[to] ?? 0) > (LEVEL[from] ?? 0)) bad.push(`${rel} → ${target}`);
      if (
        (from === "server" && to === "client") ||
        (from === "client" && to === "server")
      )
        bad.push(`${rel} → ${target}`);
      if (
        (from === "mirror" || from === "observe") &&
        !["client/index.ts", "server/server.ts"].includes(target) &&
        LEVEL[to] === 5
      )
        bad.push(`${rel} → ${target} (${from} uses the public surface only)`);
    }
  }
  assert.deepEqual(bad, []);
});

test("layers - the package stands alone: src/ imports nothing from bench/, examples/ or test/", () => {
  const bad: string[] = [];
  for (const { rel, text } of files) {
    for (const spec of imports(text).filter((s) => s.startsWith("."))) {
      const target = relative(SRC, join(SRC, rel, "..", spec));
      if (target.startsWith("..")) bad.push(`${rel} → ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

test("layers - each third-party package is imported in its one place", () => {
  const bad: string[] = [];
  for (const { rel, text } of files) {
    for (const spec of imports(text).filter(
      (s) => !s.startsWith(".") && !s.startsWith("node:"),
    )) {
      const pkg = spec.split("/")[0]!;
      const home = PACKAGE_HOME[pkg];
      if (home !== undefined && !home(rel)) bad.push(`${rel} imports ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

test("layers - only cli/ touches process.exit", () => {
  const bad = files
    .filter(
      ({ rel, text }) => /process\.exit\(/.test(text) && top(rel) !== "cli",
    )
    .map((f) => f.rel);
  assert.deepEqual(bad, []);
});

test("layers - message, pattern and config are pure: no fs, net, timers or logging", () => {
  const bad: string[] = [];
  for (const { rel, text } of files.filter((f) =>
    ["message", "pattern", "config"].includes(top(f.rel)),
  )) {
    if (
      /from "node:(fs|net|child_process|http)/.test(text) ||
      /\bsetTimeout\(|\bsetInterval\(|\bprocess\./.test(text)
    )
      bad.push(rel);
  }
  assert.deepEqual(bad, []);
});

test("layers - a network push runs in NetworkMover: the ftp and sftp adapters carry protocol steps, neither pooling nor the upload sequence", () => {
  const bad: string[] = [];
  for (const { rel, text } of files) {
    for (const spec of imports(text).filter((s) => s.startsWith("."))) {
      const target = relative(SRC, join(SRC, rel, "..", spec)).replace(
        /\.js$/,
        ".ts",
      );
      const adapter = [
        "movers/ftp.ts",
        "movers/sftp.ts",
        "movers/scp.ts",
      ].includes(rel);
      if (
        adapter &&
        (target === "movers/connection-cache.ts" ||
          target === "movers/atomic-upload.ts")
      )
        bad.push(`${rel} → ${target}`);
      if (
        target === "movers/atomic-upload.ts" &&
        rel !== "movers/network-mover.ts"
      )
        bad.push(`${rel} → ${target}`);
    }
  }
  assert.deepEqual(bad, []);
});
