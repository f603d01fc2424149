/**
 * Decides, for every announced file, who fetches it from where. The first
 * announcement of a uid wins: the client pushes from its server. Later
 * announcements of the same uid are remembered, for failover while the
 * transfer runs and for an `ack` once it succeeded. Uids already received
 * are acked, not fetched. With a processing delay (hot spare) it waits and
 * stands down if another client's `push`/`ack` of the uid was heard.
 * Transfers run concurrently up to a bound; `handle()` never waits for
 * them, so announcements keep being read while files move.
 */
import { ClosedError, RefusedError, RequestTimeoutError, TransferError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Message } from "../message/index.js";
import type { Requester } from "../transport/requester.js";
import { deferred, sleep, type Deferred } from "../util/abort.js";
import { Semaphore } from "../util/serial.js";
import type { Destination } from "./destination.js";
import { ANNOUNCEMENT_TYPES, ackMessage, pushMessage, stringField, uidKey, type Stamp } from "./messages.js";
import { PUSH_REPLIES, expectReply, pushAndWait, type PushOptions } from "./push.js";
import { RecentSet } from "./recent.js";
import { RelayRegistry, type Fetched, type RelayOptions } from "./relay.js";
import { safeError } from "./safe-error.js";

/** One server's announcement of a file. */
export interface Announcement {
  /** The announcement as received. */
  readonly msg: Message;
  /** Its `request_address`: where to send push and ack. */
  readonly address: string;
  /** What identifies the file (see `uidKey`). */
  readonly key: string;
  /** The provider (`host:port`) whose publisher it came from. */
  readonly provider: string;
}

/** What the chain does around a push: the coordinator only decides and requests. */
export interface TransferHooks {
  /** The destination for this announcement; creates local directories. */
  prepare(ann: Announcement, signal: AbortSignal): Promise<Destination>;
  /** Check the delivered file (checksum); throw to fail over to the next provider. */
  verify(ann: Announcement, dest: Destination, signal: AbortSignal): Promise<void>;
  /** After success: unpack, rewrite and republish. */
  complete(ann: Announcement, dest: Destination, signal: AbortSignal): Promise<void>;
  /** Publish on the chain's publisher (push before, ack after). */
  publish(msg: Message): Promise<void>;
}

/** Settings a reload may change in place. */
export interface CoordinatorSettings {
  reqTimeoutMs: number;
  transferReqTimeoutMs: number;
  /** Transfers running at once. */
  maxConcurrent: number;
  /** Hot spare: wait this long before acting; undefined: act at once. */
  processingDelayMs?: number | undefined;
}

export interface CoordinatorOptions extends CoordinatorSettings {
  requester: Requester;
  /** True while the provider (`host:port` of its publisher) is heard; see pushAndWait. */
  providerAlive?: (provider: string) => boolean;
  hooks: TransferHooks;
  log: Logger;
  /** Sender and time of the messages built here (default: this process, now). */
  stamp?: Stamp;
  /** Cap on the wait for one push reply while the server answers pings (default 1 h). */
  maxWaitMs?: number;
  /** Uids remembered as received (default 10 000). */
  historySize?: number;
  /** Files waiting or moving at once; more announcements are dropped (default 10 000). */
  maxPending?: number;
  /** How long `close()` lets transfers in flight finish (default 10 s). */
  drainMs?: number;
  /** Relay mode (the mirror): see RelayOptions. */
  relay?: RelayOptions;
}

/** Counters for tests, metrics and the status view. */
export interface CoordinatorStats {
  /** Announcements handled (with a request_address and a uid). */
  announcements: number;
  /** Announcements of a uid already being fetched (remembered for failover/ack). */
  duplicates: number;
  /** Announcements of a uid already received (acked, not fetched). */
  alreadyReceived: number;
  /** Files received. */
  received: number;
  /** Files no provider could deliver. */
  failed: number;
  /** Pushes tried on a next provider after a failure. */
  failovers: number;
  /** Ack requests answered / not answered. */
  acks: number;
  ackFailures: number;
  /** Hot spare: files left to the primary client. */
  stoodDown: number;
  /** Announcements dropped because too many files were pending. */
  dropped: number;
  /** Pushes in flight now, and the most seen at once. */
  active: number;
  peakActive: number;
  /** Files waiting (delay, concurrency bound) or moving now. */
  pending: number;
}

interface Job {
  readonly key: string;
  /** Announcements in arrival order; grows while the job runs. */
  readonly candidates: Announcement[];
  /** Addresses that stopped answering during this job: not acked. */
  readonly unresponsive: Set<string>;
  /** Settled when the job ends, for `fetch()` callers (made only when one waits). */
  done?: Deferred<Fetched>;
}


const DEFAULTS = { maxWaitMs: 3_600_000, historySize: 10_000, maxPending: 10_000, drainMs: 10_000 };

/** See the module comment. */
export class Coordinator {
  private readonly jobs = new Map<string, Job>();
  private readonly known: RelayRegistry | undefined;
  private readonly history: RecentSet;
  private readonly peerClaims: RecentSet;
  private readonly tasks = new Set<Promise<void>>();
  private readonly intake = new AbortController();
  private readonly owner = new AbortController();
  private readonly counters: Omit<CoordinatorStats, "pending"> = newCounters();
  private readonly stamp: Stamp;
  private settings: CoordinatorSettings;
  private slots: Semaphore;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: CoordinatorOptions) {
    this.settings = pickSettings(opts);
    this.slots = new Semaphore(opts.maxConcurrent);
    this.history = new RecentSet(opts.historySize ?? DEFAULTS.historySize);
    this.peerClaims = new RecentSet(opts.historySize ?? DEFAULTS.historySize);
    this.stamp = opts.stamp ?? (() => ({}));
    this.known = opts.relay === undefined ? undefined : new RelayRegistry(opts.relay.capacity ?? DEFAULTS.historySize, opts.relay.ttlMs ?? 3_600_000);
  }

  /** Take one message from a listener. Returns at once; transfers run in the background. */
  handle(msg: Message, provider: string): void {
    if (this.closing !== undefined) return;
    if (msg.type === "push" || msg.type === "ack") {
      this.notePeer(msg);
      return;
    }
    if (!ANNOUNCEMENT_TYPES.has(msg.type)) return;
    // A file message without request_address is another client's publication.
    const address = stringField(msg, "request_address");
    if (address === undefined) return;
    const key = uidKey(msg);
    if (key === undefined) {
      this.opts.log.debug({ provider, subject: msg.subject }, "announcement without uid dropped");
      return;
    }
    this.counters.announcements++;
    this.route({ msg, address, key, provider });
  }

  /** Change timeouts, delay and bound for files announced from now on. */
  update(settings: CoordinatorSettings): void {
    if (settings.maxConcurrent !== this.settings.maxConcurrent) this.slots = new Semaphore(settings.maxConcurrent);
    this.settings = pickSettings(settings);
  }

  /** A snapshot of the counters. */
  get stats(): CoordinatorStats {
    return { ...this.counters, pending: this.jobs.size };
  }

  /** Stop taking announcements, let transfers in flight finish (up to `drainMs`), then abort the rest. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Abort everything now, then close. */
  destroy(err: Error = new ClosedError("coordinator destroyed")): Promise<void> {
    this.intake.abort(err);
    this.owner.abort(err);
    return this.close();
  }

  private async shutdown(): Promise<void> {
    this.intake.abort(new ClosedError("coordinator closed"));
    const all = Promise.allSettled([...this.tasks]);
    const deadline = new AbortController();
    await Promise.race([all, sleep(this.opts.drainMs ?? DEFAULTS.drainMs, deadline.signal).catch(() => undefined)]);
    deadline.abort();
    this.owner.abort(new ClosedError("coordinator closed"));
    await all;
  }

  /**
   * Relay mode: fetch a file announced upstream (joining a transfer in
   * flight) and resolve when it has arrived.
   */
  fetch(key: string): Promise<Fetched> {
    if (this.closing !== undefined) return Promise.reject(new ClosedError("coordinator closed"));
    const running = this.jobs.get(key);
    if (running !== undefined) return (running.done ??= deferred<Fetched>()).promise;
    const candidates = this.known?.candidates(key);
    if (candidates === undefined) return Promise.reject(new RefusedError(`${key} was not announced upstream`));
    const job: Job = { key, candidates, unresponsive: new Set(), done: deferred<Fetched>() };
    this.start(job);
    return job.done!.promise;
  }

  /** Relay mode: remember the announcement, report a new file; true if it is the first of its file. */
  private relayed(ann: Announcement): boolean {
    const first = this.known!.add(ann);
    const running = this.jobs.get(ann.key);
    if (!first && running !== undefined) this.remember(running, ann);
    if (first) this.opts.relay!.onAnnounced(ann);
    return first;
  }

  private route(ann: Announcement): void {
    if (this.opts.relay !== undefined) {
      const first = this.relayed(ann);
      if (!this.opts.relay.prefetch || !first) return;
    }
    const running = this.jobs.get(ann.key);
    if (running !== undefined) {
      this.remember(running, ann);
      return;
    }
    if (this.history.has(ann.key)) {
      this.counters.alreadyReceived++;
      this.track(this.ack(ann));
      return;
    }
    if (this.jobs.size >= (this.opts.maxPending ?? DEFAULTS.maxPending)) {
      this.counters.dropped++;
      this.opts.log.warn({ uid: ann.key, provider: ann.provider }, "announcement dropped");
      return;
    }
    this.start({ key: ann.key, candidates: [ann], unresponsive: new Set() });
  }

  private start(job: Job): void {
    this.jobs.set(job.key, job);
    this.track(
      this.run(job).finally(() => {
        if (this.jobs.get(job.key) === job) this.jobs.delete(job.key);
        // No-op after success; tells a waiting fetch() the job ended without the file.
        job.done?.reject(new ClosedError(`transfer of ${job.key} abandoned`));
      }),
    );
  }

  private remember(job: Job, ann: Announcement): void {
    this.counters.duplicates++;
    if (job.candidates.some((c) => c.address === ann.address)) return;
    job.candidates.push(ann);
    this.opts.log.debug({ uid: ann.key, provider: ann.provider }, "announcement remembered");
  }

  private notePeer(msg: Message): void {
    if (this.settings.processingDelayMs === undefined) return;
    const key = uidKey(msg);
    if (key !== undefined) this.peerClaims.add(key);
  }

  private track(task: Promise<void>): void {
    const tracked = task.catch((err: unknown) => this.opts.log.error({ err: safeError(err) }, "transfer crashed"));
    this.tasks.add(tracked);
    void tracked.finally(() => this.tasks.delete(tracked));
  }

  private async run(job: Job): Promise<void> {
    const delay = this.settings.processingDelayMs;
    if (delay !== undefined) {
      if (delay > 0 && !(await sleep(delay, this.intake.signal).then(() => true, () => false))) return;
      if (this.peerClaims.has(job.key)) {
        this.counters.stoodDown++;
        this.opts.log.info({ uid: job.key }, "standing down");
        return;
      }
    }
    await this.slots.use(() => this.transfer(job));
  }

  private async transfer(job: Job): Promise<void> {
    for (let i = 0; i < job.candidates.length; i++) {
      if (this.intake.signal.aborted) return;
      const ann = job.candidates[i]!;
      if (i > 0) this.counters.failovers++;
      const dest = await this.attempt(job, ann);
      if (dest !== undefined) return this.succeed(job, ann, dest);
    }
    job.done?.reject(new TransferError(`no provider could deliver ${job.key}`, { scheme: "push", destination: job.key }));
    if (this.intake.signal.aborted) return;
    this.counters.failed++;
    this.opts.log.error({ uid: job.key, providers: job.candidates.map((c) => c.address) }, "transfer failed");
  }

  /** One push to one server; the destination on success, undefined on failure. */
  private async attempt(job: Job, ann: Announcement): Promise<Destination | undefined> {
    const log = this.opts.log.child({ uid: job.key, provider: ann.address });
    const started = Date.now();
    this.counters.active++;
    this.counters.peakActive = Math.max(this.counters.peakActive, this.counters.active);
    try {
      const dest = await this.opts.hooks.prepare(ann, this.owner.signal);
      // The public push and the request are one push: same sender and time.
      const stamp = this.stamp();
      // Queued before the request, not awaited: the PUB socket sends it first anyway.
      void this.opts.hooks.publish(pushMessage(ann.msg, dest.public, () => stamp, dest.backupTargets)).catch((err: unknown) => log.warn({ err: safeError(err) }, "publish failed"));
      const request = pushMessage(ann.msg, dest.request, () => stamp, dest.backupTargets);
      const reply = await pushAndWait(ann.address, request, this.pushOptions(log, () => this.lastHope(job, ann)));
      expectReply(reply, PUSH_REPLIES);
      await this.opts.hooks.verify(ann, dest, this.owner.signal);
      log.info({ destination: dest.public, durationMs: Date.now() - started }, "push completed");
      return dest;
    } catch (err) {
      if (err instanceof RequestTimeoutError) job.unresponsive.add(ann.address);
      if (!this.owner.signal.aborted) log.warn({ err: safeError(err), durationMs: Date.now() - started }, "push failed");
      return undefined;
    } finally {
      this.counters.active--;
    }
  }

  /**
   * A server that stopped answering pings is still waited for when giving up
   * would lose the file: no other server announced it, and this one's
   * publisher is still heard (busy, not dead). With another server to try,
   * failing over is quicker.
   */
  private lastHope(job: Job, ann: Announcement): boolean {
    const last = job.candidates[job.candidates.length - 1] === ann;
    return last && (this.opts.providerAlive?.(ann.provider) ?? false);
  }

  private pushOptions(log: Logger, isAlive: () => boolean): PushOptions {
    return {
      requester: this.opts.requester,
      reqTimeoutMs: this.settings.reqTimeoutMs,
      transferReqTimeoutMs: this.settings.transferReqTimeoutMs,
      maxWaitMs: this.opts.maxWaitMs ?? DEFAULTS.maxWaitMs,
      stamp: this.stamp,
      log,
      signal: this.owner.signal,
      isAlive,
    };
  }

  private async succeed(job: Job, winner: Announcement, dest: Destination): Promise<void> {
    // From here on, new announcements of this uid are acked by route().
    this.history.add(job.key);
    this.jobs.delete(job.key);
    this.counters.received++;
    await this.opts.hooks.publish(ackMessage(winner.msg, this.stamp));
    const acks = this.others(job, winner).map((ann) => this.ack(ann));
    try {
      await this.opts.hooks.complete(winner, dest, this.owner.signal);
    } catch (err) {
      this.opts.log.error({ err: safeError(err), uid: job.key }, "post-processing failed");
    }
    job.done?.resolve({ ann: winner, dest });
    await Promise.all(acks);
  }

  /** Every other server that announced the file and still answers, once each. */
  private others(job: Job, winner: Announcement): Announcement[] {
    const skip = new Set([winner.address, ...job.unresponsive]);
    const out: Announcement[] = [];
    for (const ann of job.candidates) {
      if (skip.has(ann.address)) continue;
      skip.add(ann.address);
      out.push(ann);
    }
    return out;
  }

  private async ack(ann: Announcement): Promise<void> {
    try {
      const reply = await this.opts.requester.request(ann.address, ackMessage(ann.msg, this.stamp), {
        timeoutMs: this.settings.reqTimeoutMs,
        signal: this.owner.signal,
      });
      expectReply(reply, ["ack"]);
      this.counters.acks++;
      this.opts.log.debug({ uid: ann.key, provider: ann.address }, "ack sent");
    } catch (err) {
      if (this.owner.signal.aborted) return;
      this.counters.ackFailures++;
      this.opts.log.warn({ err: safeError(err), uid: ann.key, provider: ann.address }, "ack failed");
    }
  }
}

function pickSettings(s: CoordinatorSettings): CoordinatorSettings {
  return {
    reqTimeoutMs: s.reqTimeoutMs,
    transferReqTimeoutMs: s.transferReqTimeoutMs,
    maxConcurrent: s.maxConcurrent,
    processingDelayMs: s.processingDelayMs,
  };
}

function newCounters(): Omit<CoordinatorStats, "pending"> {
  return {
    announcements: 0,
    duplicates: 0,
    alreadyReceived: 0,
    received: 0,
    failed: 0,
    failovers: 0,
    acks: 0,
    ackFailures: 0,
    stoodDown: 0,
    dropped: 0,
    active: 0,
    peakActive: 0,
  };
}

export type { Fetched, RelayOptions } from "./relay.js";
