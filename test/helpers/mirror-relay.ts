/**
 * A relay of bin/ processes on 127.0.0.1 for the mirror's fault tests:
 *
 *   move_it_server → move_it_mirror (stages into `staging.dir`) → move_it_client
 *
 * Every daemon's first start binds port 0 and the ports are read back from
 * its log (`boundPorts`); the next hop's config is written then. Restarts
 * of the mirror keep its ports (the client keeps the address), written into
 * its config before the restart. Each process logs at -v to its own file in
 * the work directory. Files dropped are counted as they are renamed into
 * the destination (`DeliveryCounter`).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { DeliveryCounter, sha256 } from "./fleet.js";
import { logRecords, runCommand, waitForLog, type Proc } from "./procs.js";
import { boundPorts, startServerProc } from "./server-proc.js";
import { tempDir } from "./tmp.js";
import { waitFor } from "./wait.js";

export interface Staging {
  /** The mirror's `destination`. */
  destination: string;
  /** Where the staged files are on disk (the mirror serves them from there). */
  dir: string;
  /** More mirror lines. */
  extra: string;
  /** More upstream server lines (credentials for the upload). */
  serverExtra: string;
}

const SENTINEL = "sentinel.dat";
/**
 * The client's `transfer_req_timeout`, seconds: what a push asked of a mirror killed meanwhile waits before
 * it is asked again (every kill test waits it out once). Well above a push of these tests' files on a busy
 * machine (a second or two), far below the 20 s it was.
 */
const CLIENT_TRANSFER_REQ_TIMEOUT = 6;

export class MirrorRelay {
  readonly inDir: string;
  readonly out: string;
  private readonly aside: string;
  /** sha256 of every file dropped, by name (probes apart). */
  readonly dropped = new Map<string, string>();
  private runs = 0;
  private mirrorPorts: { pub: number; req: number } | undefined;
  private clientIni = "";

  private constructor(
    private readonly t: TestContext,
    readonly work: string,
    readonly staging: Staging,
    private readonly serverPub: number,
    readonly counter: DeliveryCounter,
  ) {
    this.inDir = join(work, "in");
    this.aside = join(work, "aside");
    this.out = join(work, "out");
  }

  /** Work dirs, the delivery counter and the upstream server (started); `staging` says where the mirror stages. */
  static async create(
    t: TestContext,
    prefix: string,
    staging: (work: string) => Promise<Staging>,
  ): Promise<MirrorRelay> {
    const work = await tempDir(t, prefix);
    for (const d of ["in", "aside", "out"]) await mkdir(join(work, d));
    const stage = await staging(work);
    const sIni = join(work, "s.ini");
    await writeFile(
      sIni,
      `[up]\norigin = ${join(work, "in")}/{name}.dat\ntopic = /up/data\nrequest_port = 0\nrequest_address = 127.0.0.1\n${stage.serverExtra}`,
    );
    const sLog = join(work, "move_it_server.log");
    await startServerProc(
      t,
      [
        sIni,
        "-p",
        "0",
        "--host",
        "127.0.0.1",
        "-v",
        "-l",
        sLog,
        "--state-dir",
        join(work, "s-state"),
      ],
      sLog,
      "upstream server start",
    );
    const counter = new DeliveryCounter(t, join(work, "out"));
    await counter.started();
    return new MirrorRelay(
      t,
      work,
      stage,
      boundPorts(await logRecords(sLog)).publishPort,
      counter,
    );
  }

  /** The mirror's request address (`host:port`); known once it started. */
  get mirrorReq(): string {
    if (this.mirrorPorts === undefined)
      throw new Error("the mirror's ports are known once it started");
    return `127.0.0.1:${this.mirrorPorts.req}`;
  }

  /** Start the mirror (again, on the ports of its first start); resolves on "mirror started". */
  async startMirror(): Promise<Proc> {
    const ini = join(this.work, "m.ini");
    const { destination, dir, extra } = this.staging;
    await writeFile(
      ini,
      `[gw]\nproviders = 127.0.0.1:${this.serverPub}\nclient_topic = /up/data\ndestination = ${destination}\n${extra}` +
        `origin = ${dir}/{name}.dat\ntopic = /gw/data\nrequest_port = ${this.mirrorPorts?.req ?? 0}\nrequest_address = 127.0.0.1\npublish_port = 0\nnameservers = false\nremove_delay = 1\n`,
    );
    const log = join(this.work, `move_it_mirror-${++this.runs}.log`);
    const args = [
      ini,
      "-p",
      String(this.mirrorPorts?.pub ?? 0),
      "--host",
      "127.0.0.1",
      "-v",
      "-l",
      log,
      "--state-dir",
      join(this.work, "m-state"),
    ];
    const proc = await startServerProc(
      this.t,
      args,
      log,
      `mirror start #${this.runs}`,
      "move_it_mirror",
    );
    if (this.mirrorPorts === undefined) {
      const bound = boundPorts(await logRecords(log));
      const req = bound.ports["gw"];
      if (req === undefined)
        throw new Error(
          `no "chain started" record with the mirror's request port in ${log}`,
        );
      this.mirrorPorts = { pub: bound.publishPort, req };
    }
    return proc;
  }

  /** Start the downstream client (same state dir each time); resolves once its chain runs. */
  async startClient(): Promise<Proc> {
    if (this.mirrorPorts === undefined)
      throw new Error(
        "start the mirror first: the client's config names the port it bound",
      );
    if (this.clientIni === "") {
      this.clientIni = join(this.work, "c.ini");
      await writeFile(
        this.clientIni,
        `[down]\nproviders = 127.0.0.1:${this.mirrorPorts.pub}\ndestination = file://${this.out}/\ntopic = /gw/data\npublish_port = 0\nnameservers = false\ntransfer_req_timeout = ${CLIENT_TRANSFER_REQ_TIMEOUT}\n`,
      );
    }
    const log = join(this.work, `move_it_client-${++this.runs}.log`);
    const proc = runCommand(this.t, "move_it_client", [
      this.clientIni,
      "--host",
      "127.0.0.1",
      "-v",
      "-l",
      log,
      "--state-dir",
      join(this.work, "c-state"),
    ]);
    await waitForLog(log, "chain started", 60_000);
    return proc;
  }

  /** Drop a file of `bytes` random bytes atomically (written aside, renamed in). */
  async drop(name: string, bytes: number, probe = false): Promise<void> {
    const body = randomBytes(bytes);
    if (!probe) this.dropped.set(name, sha256(body));
    await writeFile(join(this.aside, name), body);
    await rename(join(this.aside, name), join(this.inDir, name));
  }

  /** Names delivered so far (final names only). */
  async delivered(): Promise<string[]> {
    return (await readdir(this.out)).filter(
      (n) => !n.startsWith(".") && !n.endsWith(".part"),
    );
  }

  /** Drop a probe every second until one is delivered: the subscriptions on both hops are in place. */
  async warmUp(): Promise<void> {
    for (
      let i = 0;
      !(await this.delivered()).some((n) => n.startsWith("probe-"));
      i++
    ) {
      assert.ok(i < 60, "no probe got through the mirror");
      await this.drop(`probe-${i}.dat`, 10, true);
      await waitFor(
        async () =>
          (await this.delivered()).some((n) => n.startsWith("probe-")),
        "probe",
        1000,
      ).catch(() => undefined);
    }
  }

  /** Wait until every dropped file is delivered; on a timeout, say which are missing and what the logs said of them. */
  async waitAllDelivered(what: string, timeoutMs: number): Promise<void> {
    await waitFor(
      async () => {
        const have = new Set(await this.delivered());
        return [...this.dropped.keys()].every((n) => have.has(n));
      },
      what,
      timeoutMs,
    ).catch(async (err: unknown) => {
      const have = new Set(await this.delivered());
      const missing = [...this.dropped.keys()].filter((n) => !have.has(n));
      for (const f of (await readdir(this.work)).filter((n) =>
        n.endsWith(".log"),
      )) {
        const lines = (await readFile(join(this.work, f), "utf8"))
          .split("\n")
          .filter(
            (l) => missing.some((m) => l.includes(m)) || /"level":50/.test(l),
          );
        this.t.diagnostic(
          `${f}: ${lines
            .slice(-12)
            .map((l) => l.replace(/"stack":"[^"]*",?/g, ""))
            .join("\n")}`,
        );
      }
      throw new Error(
        `${(err as Error).message}: missing ${missing.join(", ")}`,
      );
    });
  }

  /**
   * Every dropped file delivered intact and renamed into place once: a
   * sentinel file dropped last is awaited first, so a second delivery of
   * an earlier file would have shown by then.
   */
  async assertExactlyOnce(): Promise<void> {
    await this.waitAllDelivered("every file delivered", 120_000);
    for (const [name, sum] of this.dropped)
      assert.equal(
        sha256(await readFile(join(this.out, name))),
        sum,
        `${name} intact`,
      );
    if (!this.dropped.has(SENTINEL)) {
      await this.drop(SENTINEL, 1000);
      await this.waitAllDelivered("the sentinel delivered", 60_000);
    }
    await waitFor(
      () => [...this.dropped.keys()].every((n) => this.counter.counts.has(n)),
      "every rename seen",
      10_000,
    );
    assert.deepEqual(this.counter.twice(), [], "delivered more than once");
  }

  /** Wait until the mirror deleted every staged copy (remove_delay 1 s after its push). */
  async waitStagingEmpty(): Promise<void> {
    const staged = async (): Promise<string[]> =>
      (await readdir(this.staging.dir)).filter((n) => !n.startsWith("."));
    await waitFor(
      async () => (await staged()).length === 0,
      "every staged copy deleted after its push",
      30_000,
    ).catch(async (err: unknown) => {
      throw new Error(
        `${(err as Error).message}: left ${(await staged()).join(", ")}`,
      );
    });
  }
}
