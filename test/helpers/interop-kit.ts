/**
 * Shared pieces of the interop suite (test/interop/): the lab wrapper that
 * skips or fails as the README says, the peers of either kind and their ini
 * sections, and the generic lab tools of lab.ts (files dropped the way a
 * reception system drops them, checks on what arrived).
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { Message } from "../../src/message/index.js";
import type { NsProcess, NsSubscriber } from "./netns.js";
import { InteropLab, referenceUnavailable } from "./reference.js";
import {
  exists,
  published,
  runLab,
  tally,
  uidOf,
  waitPublished,
  warmUp,
  type Site,
} from "./lab.js";

const inCi = process.env["CI"] === "true";
export const unavailable = await referenceUnavailable();
/** The `skip` option of every interop test. */
export const skip =
  unavailable !== undefined && !inCi
    ? `${unavailable} (with CI=true this fails instead)`
    : false;

// The generic pieces live in lab.ts (the e2e labs use them too); the interop tests take them from here.
export {
  assertDirHolds,
  assertIntact,
  drop,
  exists,
  makeFiles,
  makeSite,
  published,
  sha256,
  tally,
  uidOf,
  waitArrived,
  waitGone,
  waitPublished,
  warmUp,
  type Site,
} from "./lab.js";

/** Run a scenario in a fresh one-namespace lab; on failure print every log tail and keep the lab dir. */
export function inLab(
  t: TestContext,
  tag: string,
  body: (lab: InteropLab) => Promise<void>,
): Promise<void> {
  return runLab(
    t,
    tag,
    unavailable,
    () => InteropLab.create(tag),
    (l) => l.lab,
    body,
  );
}

/** Lines of a process's text output (stdout and stderr). */
export async function outputOf(proc: NsProcess): Promise<string> {
  return readFile(proc.outFile, "utf8").catch(() => "");
}

/** An ini file in the lab dir. */
export async function ini(
  lab: InteropLab,
  name: string,
  text: string,
): Promise<string> {
  const path = join(lab.dir, name);
  await writeFile(path, text);
  return path;
}

/** Which implementation a peer of a lab test runs. */
export type PeerKind = "python" | "move_it";

/** The `[interop]` section of a lab server: `{name}.dat` under `origin`, served copies deleted a second after their push. */
export function labServerIni(
  topic: string,
  origin: string,
  requestPort: number,
  extra = "",
): string {
  return `[interop]\norigin = ${origin}/{name}.dat\ntopic = ${topic}\nrequest_port = ${requestPort}\nrequest_address = 127.0.0.1\ndelete = True\nremove_delay = 1\n${extra}`;
}

/** The `[interop]` section of a lab client listening to publishers on 127.0.0.1 `providers`, delivering to `out`. */
export function labClientIni(
  topic: string,
  providers: readonly number[],
  out: string,
  publishPort: number,
  extra = "",
): string {
  const list = providers.map((p) => `127.0.0.1:${p}`).join(" ");
  return `[interop]\nproviders = ${list}\ndestination = file://${out}/\ntopic = ${topic}\npublish_port = ${publishPort}\nnameservers = false\n${extra}`;
}

/** The `[interop]` section of a lab mirror relaying from the publisher on 127.0.0.1 `upstream`, staging in `stage`, staged copies deleted a second after their push. */
export function labMirrorIni(
  topic: string,
  upstream: number,
  stage: string,
  requestPort: number,
): string {
  return [
    "[interop]",
    `providers = 127.0.0.1:${upstream}`,
    `client_topic = ${topic}`,
    `destination = file://${stage}/`,
    `origin = ${stage}/{name}.dat`,
    `topic = ${topic}`,
    `request_port = ${requestPort}`,
    "request_address = 127.0.0.1",
    "publish_port = 0",
    "delete = True",
    "remove_delay = 1",
    "",
  ].join("\n");
}

/** The label of a lab peer: `py-server`, `ts-client`... (its output in `<label>.out`, ours' log in `<label>.log`). */
export const peerLabel = (
  kind: PeerKind,
  role: "server" | "client" | "mirror",
): string => `${kind === "python" ? "py" : "ts"}-${role}`;

/** A server of either kind publishing on `publishPort`, without backlog, at -v (ours keeps its state in `<label>-state`). */
export function labServer(
  lab: InteropLab,
  kind: PeerKind,
  iniPath: string,
  publishPort: number,
): NsProcess {
  const label = peerLabel(kind, "server");
  if (kind === "python")
    return lab.py(label, "move_it_server", [
      "-p",
      String(publishPort),
      "--disable-backlog",
      "-v",
      iniPath,
    ]);
  return lab.ours(label, "server", [
    iniPath,
    "-p",
    String(publishPort),
    "--host",
    "127.0.0.1",
    "--disable-backlog",
    "--state-dir",
    join(lab.dir, `${label}-state`),
    "-v",
  ]);
}

/** A client of either kind, at -v. */
export function labClient(
  lab: InteropLab,
  kind: PeerKind,
  iniPath: string,
): NsProcess {
  const label = peerLabel(kind, "client");
  if (kind === "python")
    return lab.py(label, "move_it_client", ["-v", iniPath]);
  return lab.ours(label, "client", [iniPath, "--host", "127.0.0.1", "-v"]);
}

/** A mirror of either kind publishing on `publishPort`, at -v. */
export function labMirror(
  lab: InteropLab,
  kind: PeerKind,
  iniPath: string,
  publishPort: number,
): NsProcess {
  const label = peerLabel(kind, "mirror");
  if (kind === "python")
    return lab.py(label, "move_it_mirror", [
      "-p",
      String(publishPort),
      "-v",
      iniPath,
    ]);
  return lab.ours(label, "mirror", [
    iniPath,
    "-p",
    String(publishPort),
    "--host",
    "127.0.0.1",
    "--state-dir",
    join(lab.dir, `${label}-state`),
    "-v",
  ]);
}

/** What the lab's last client republishes: a subscriber on its publish port, and checks on the `file` messages. */
export class Republished {
  private constructor(readonly sub: NsSubscriber) {}

  /** Once every port in `upstream` and the client's `publishPort` accept connections, subscribe to the client. */
  static async subscribe(
    lab: InteropLab,
    upstream: readonly number[],
    publishPort: number,
  ): Promise<Republished> {
    for (const port of [...upstream, publishPort]) await lab.reachable(port);
    return new Republished(
      lab.lab.subscribe(lab.ns, "sub", `tcp://127.0.0.1:${publishPort}`),
    );
  }

  /** The `file` messages so far. */
  files(): Message[] {
    return published(this.sub, "file");
  }

  /** Whether a `file` message for `name` came. */
  seen(name: string): boolean {
    return this.files().some((m) => uidOf(m) === name);
  }

  /** Wait for a `file` message for every name. */
  wait(
    names: Iterable<string>,
    what: string,
    timeoutMs?: number,
  ): Promise<void> {
    return waitPublished(this.sub, names, what, timeoutMs);
  }

  /**
   * Drop probes at `sites` until one was republished and is gone from every
   * site (pushed, or acked and deleted): every subscription on the way is in
   * place, and every server's deletions work.
   */
  warmUpGone(sites: readonly Site[]): Promise<string> {
    return warmUp(
      sites,
      async (name) =>
        this.seen(name) &&
        (
          await Promise.all(sites.map((s) => exists(join(s.inDir, name))))
        ).every((here) => !here),
    );
  }

  /** One `file` message, no more, for each name. */
  assertOnce(names: Iterable<string>): void {
    const counts = tally(this.files().map(uidOf));
    for (const name of names)
      assert.equal(
        counts.get(name),
        1,
        `${name} published ${counts.get(name)} times`,
      );
  }
}
