/**
 * Decides, for every announced file, who fetches it from where. The first
 * announcement of a uid wins: the client pushes from its server. Later
 * announcements of the same uid are remembered, for failover while the
 * transfer runs and for an `ack` once it succeeded. Uids already received
 * are acked, not fetched. With a processing delay (hot spare) it waits and
 * stands down if another client's `push`/`ack` of the uid was heard.
 * Transfers run concurrently up to a bound; `handle()` never waits for
 * them, so announcements keep being read while files move.
 *
 * Every file and offer goes into the ledger (`FileBook`): it is the memory.
 * A file every provider failed to deliver is retried with capped backoff,
 * at once when a provider comes back or another file got through, until
 * `maxRetryAgeMs` after it was first heard of (then given up). Files beyond
 * the in-memory bound, and those of an earlier run, wait in the ledger and
 * are taken up as room frees. A file resumed or retried is first checked:
 * still being pushed by its server (wait), already complete under its final
 * name (delivered), or leftovers of a crashed transfer (cleaned).
 */
import {
  ClosedError,
  RefusedError,
  RequestTimeoutError,
  TransferError,
  errorMessage,
} from "../errors.js";
import { lazyChild, type Logger } from "../log.js";
import type { Message } from "../message/index.js";
import type { Requester } from "../transport/requester.js";
import {
  backoff,
  deferred,
  settlesWithin,
  sleep,
  type Deferred,
} from "../util/abort.js";
import { Semaphore } from "../util/serial.js";
import { redactText, urlOrigin } from "../util/url.js";
import { AddressHealth } from "./address-health.js";
import { deliveredUri, targetPath, type Destination } from "./destination.js";
import { ClientLedger, type FileBook, type FileRecord } from "./ledger.js";
import {
  ANNOUNCEMENT_TYPES,
  ackMessage,
  pushMessage,
  stringField,
  uidKey,
  type Stamp,
} from "./messages.js";
import {
  LostPushError,
  PUSH_REPLIES,
  expectReply,
  ping,
  type PongInfo,
  type PushOptions,
} from "./push.js";
import { PushBatcher } from "./push-batch.js";
import { PushLanes } from "./push-lanes.js";
import { RecentSet } from "./recent.js";
import {
  Relay,
  type Fetched,
  type RelayOptions,
  type Transfers,
} from "./relay.js";
import type { ChainEvent } from "./events.js";

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
  verify(
    ann: Announcement,
    dest: Destination,
    signal: AbortSignal,
  ): Promise<void>;
  /** After success: unpack, rewrite and republish. */
  complete(
    ann: Announcement,
    dest: Destination,
    signal: AbortSignal,
  ): Promise<void>;
  /** True when the file is already complete under its final name (resumed or retried files only). */
  present?(
    ann: Announcement,
    dest: Destination,
    signal: AbortSignal,
  ): Promise<boolean>;
  /** Remove what a crashed transfer of the file left behind (`.part` files). */
  cleanup?(ann: Announcement, dest: Destination): Promise<void>;
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
  /** Give a file up this long after it was first heard of (default 24 h). */
  maxRetryAgeMs?: number | undefined;
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
  /** The ledger (default: one in memory, owned and closed by the coordinator). */
  book?: FileBook;
  /** Uids kept in memory as received, a cache in front of the ledger (default 10 000). */
  historySize?: number;
  /** Files held in memory (waiting or moving) at once; more wait in the ledger (default 10 000). */
  maxPending?: number;
  /** Retry backoff bounds, ms (default 2 s .. 5 min). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How long `close()` lets transfers in flight finish (default 10 s). */
  drainMs?: number;
  /** Relay mode (the mirror): see Relay. */
  relay?: RelayOptions;
  /** Told about announcements, pushes, deliveries, failures (metrics); must not throw. */
  onEvent?: (event: ChainEvent) => void;
  /**
   * A move_it server answered as a new instance (it restarted): what it announced
   * since `since` (ms) may have been published while this client's subscription
   * was reconnecting. Must not throw.
   */
  onServerRestart?: (
    address: string,
    provider: string | undefined,
    since: number,
  ) => void;
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
  /** Rounds in which no provider could deliver a file (it is retried). */
  failed: number;
  /** Files given up after max_retry_age. */
  givenUp: number;
  /** Retries started from the ledger (backoff due, resumed at start, room freed). */
  retries: number;
  /** Files found complete under their final name when resumed: not fetched again. */
  foundPresent: number;
  /** Pushes abandoned because the server lost them (restarted, or said push_running false). */
  lostPushes: number;
  /** Offers skipped because their request address was backed off as dead. */
  deadSkips: number;
  /** Pushes tried on a next provider after a failure. */
  failovers: number;
  /** Ack requests answered / not answered. */
  acks: number;
  ackFailures: number;
  /** Hot spare: files left to the primary client. */
  stoodDown: number;
  /** Announcements left in the ledger because too many files were in memory. */
  deferred: number;
  /** Pushes in flight now, and the most seen at once. */
  active: number;
  peakActive: number;
  /** `pushes` requests sent (several pushes in one), the pushes they carried, and those the server sent back to go alone. */
  pushBatches: number;
  batchedPushes: number;
  batchDeferred: number;
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
  /** The ledger row when the job was started from it (resumed or retried). */
  record?: FileRecord | undefined;
  /** Pushes sent by this job. */
  sent?: number;
  /** The file was found complete under its final name (an earlier run's push got through, its reply did not). */
  foundPresent?: boolean;
}

const DEFAULTS = {
  maxWaitMs: 3_600_000,
  historySize: 10_000,
  maxPending: 10_000,
  drainMs: 10_000,
  maxRetryAgeMs: 86_400_000,
  retryBaseMs: 2_000,
  retryMaxMs: 300_000,
};
/**
 * The text kept with a failed file (its ledger row, the failed event, an
 * alert): made here, so credentials an error quotes (a destination URL) are
 * removed here. Log records are cleaned by the logger's serializer.
 */
function failureText(err: unknown): string {
  return redactText(errorMessage(err));
}

/** Wait at most this long for the ledger to commit "push sent" before sending it, ms. */
const SENT_WAIT_MS = 250;
/** Wake failed files after a success at most this often, ms. */
const WAKE_EVERY_MS = 5_000;

/** See the module comment. */
export class Coordinator implements Transfers {
  private readonly jobs = new Map<string, Job>();
  /** Relay mode: the upstream announcements, and fetching on request. */
  private readonly relay: Relay | undefined;
  private readonly history: RecentSet;
  private readonly peerClaims: RecentSet;
  private readonly tasks = new Set<Promise<void>>();
  private readonly intake = new AbortController();
  private readonly owner = new AbortController();
  private readonly counters: Counters = newCounters();
  private readonly stamp: Stamp;
  private readonly book: FileBook;
  private readonly ownLedger: ClientLedger | undefined;
  private readonly health = new AddressHealth();
  /** Per server: at most as many pushes at once as its pong advertises, one when it says nothing (Python). */
  private readonly lanes: PushLanes;
  /** Pushes to one server ready in the same turn go in one request, where the server takes that. */
  private readonly batcher = new PushBatcher();
  /** Files whose last push this process saw end (no earlier push of theirs can still be running). */
  private readonly endedHere: RecentSet;
  private settings: CoordinatorSettings;
  private readonly slots: Semaphore;
  private closing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  /** Files wait in the ledger for room in memory. */
  private waiting = false;
  private lastWake = 0;

  constructor(private readonly opts: CoordinatorOptions) {
    this.settings = pickSettings(opts);
    this.slots = new Semaphore(opts.maxConcurrent);
    this.lanes = new PushLanes({
      ask: async (address, subject) => {
        const info = await ping(address, subject, {
          ...this.settings,
          requester: opts.requester,
          stamp: this.stamp,
          signal: this.owner.signal,
        });
        this.batcher.told(address, info.maxBatch);
        return info.maxPushes;
      },
      signal: this.owner.signal,
      onLimit: (address, limit) =>
        opts.log.info(
          { provider: address, maxConcurrentPushes: limit },
          limit === 1
            ? "server takes one push at a time"
            : "server takes concurrent pushes",
        ),
    });
    this.history = new RecentSet(opts.historySize ?? DEFAULTS.historySize);
    this.peerClaims = new RecentSet(opts.historySize ?? DEFAULTS.historySize);
    this.endedHere = new RecentSet(opts.historySize ?? DEFAULTS.historySize);
    this.stamp = opts.stamp ?? (() => ({}));
    this.relay =
      opts.relay === undefined ? undefined : new Relay(opts.relay, this);
    if (opts.book === undefined) this.ownLedger = ClientLedger.open(":memory:");
    this.book = opts.book ?? this.ownLedger!.book("");
  }

  /** Take up what the ledger holds from an earlier run (pending, in flight, due retries). */
  resume(): void {
    this.pump();
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
      this.opts.log.debug(
        { provider, subject: msg.subject },
        "announcement without uid dropped",
      );
      return;
    }
    this.counters.announcements++;
    this.opts.log.debug({ uid: key, provider }, "announcement received");
    this.health.learn(address, provider);
    this.opts.onEvent?.({ type: "announced", provider });
    this.route({ msg, address, key, provider });
  }

  /** A provider was heard again after silence: its dead addresses and failed files get another try now. */
  providerBack(provider: string): void {
    if (this.closing !== undefined) return;
    this.health.revive(provider);
    void this.book.wake(provider).then(() => this.pump());
  }

  /** A provider's publisher was heard. */
  heard(provider: string): void {
    this.book.heard(provider);
  }

  /** Change timeouts, delay and bound; the bound holds at once for transfers waiting and running (never exceeded). */
  update(settings: CoordinatorSettings): void {
    this.slots.resize(settings.maxConcurrent);
    this.settings = pickSettings(settings);
  }

  /** A snapshot of the counters. */
  get stats(): CoordinatorStats {
    const b = this.batcher.stats;
    return {
      ...this.counters,
      pending: this.jobs.size,
      pushBatches: b.batches,
      batchedPushes: b.batched,
      batchDeferred: b.deferred,
    };
  }

  /** Stop taking announcements, let transfers in flight finish (up to `drainMs`), then abort the rest. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Abort everything now, then close. */
  destroy(
    err: Error = new ClosedError("coordinator destroyed"),
  ): Promise<void> {
    this.intake.abort(err);
    this.owner.abort(err);
    return this.close();
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.timer);
    this.intake.abort(new ClosedError("coordinator closed"));
    const all = Promise.allSettled([...this.tasks]);
    const deadline = new AbortController();
    await Promise.race([
      all,
      sleep(this.opts.drainMs ?? DEFAULTS.drainMs, deadline.signal).catch(
        () => undefined,
      ),
    ]);
    deadline.abort();
    this.owner.abort(new ClosedError("coordinator closed"));
    await all;
    clearTimeout(this.timer);
    this.ownLedger?.close();
  }

  /**
   * Relay mode: fetch a file announced upstream (joining a transfer in
   * flight) and resolve when it has arrived.
   */
  fetch(key: string): Promise<Fetched> {
    if (this.closing !== undefined)
      return Promise.reject(new ClosedError("coordinator closed"));
    if (this.relay === undefined)
      return Promise.reject(new RefusedError("not a relay"));
    return this.relay.fetch(key);
  }

  /** The transfer of `key` running now, joined (resolves when the file has arrived); undefined when none runs. */
  joinTransfer(key: string): Promise<Fetched> | undefined {
    const running = this.running(key);
    return running === undefined
      ? undefined
      : (running.done ??= deferred<Fetched>()).promise;
  }

  /** Start a transfer of `key` from these offers, first first; resolves when the file has arrived. */
  beginTransfer(key: string, candidates: Announcement[]): Promise<Fetched> {
    if (this.closing !== undefined)
      return Promise.reject(new ClosedError("coordinator closed"));
    const done = deferred<Fetched>();
    this.start({
      key,
      candidates,
      unresponsive: new Set(),
      done,
      record: this.book.get(key),
    });
    return done.promise;
  }

  /** Add an offer to the transfer of its file running now (for failover, and an ack after); false when none runs. */
  addOffer(ann: Announcement): boolean {
    const running = this.running(ann.key);
    if (running === undefined) return false;
    this.remember(running, ann);
    return true;
  }

  /** The job of `key` still transferring (one that already received its file is finishing: later offers get an ack). */
  private running(key: string): Job | undefined {
    const job = this.jobs.get(key);
    return job === undefined || this.history.has(key) ? undefined : job;
  }

  private route(ann: Announcement): void {
    if (this.relay !== undefined) {
      const first = this.relay.heard(ann);
      void this.book.offer(ann.key, ann.msg, ann.address, ann.provider);
      if (!this.relay.prefetch || !first) return;
    }
    if (this.addOffer(ann)) return;
    // Read once: the ledger row says both whether it was delivered and what is known of it.
    const record = this.history.has(ann.key)
      ? undefined
      : this.book.get(ann.key);
    if (this.history.has(ann.key) || record?.state === "delivered") {
      this.history.add(ann.key);
      this.counters.alreadyReceived++;
      this.track(this.ack(ann));
      return;
    }
    const full =
      this.jobs.size >= (this.opts.maxPending ?? DEFAULTS.maxPending);
    if (this.opts.relay === undefined) {
      const stored = this.book.offer(
        ann.key,
        ann.msg,
        ann.address,
        ann.provider,
      );
      if (full) void stored.then(() => this.arm());
    }
    if (full) {
      // Not lost: the ledger has it, pump() takes it up when room frees.
      this.counters.deferred++;
      this.waiting = true;
      return;
    }
    const candidates =
      record === undefined
        ? [ann]
        : mergeOffers(this.storedOffers(ann.key), ann);
    this.start({ key: ann.key, candidates, unresponsive: new Set(), record });
  }

  /** The offers of `key` stored in the ledger, oldest first. */
  storedOffers(key: string): Announcement[] {
    return this.book.offers(key).map((o) => ({
      msg: o.msg,
      address: o.address,
      provider: o.provider,
      key,
    }));
  }

  /** Start files the ledger holds that are due, as far as room allows; arm the timer for the next. */
  private pump(): void {
    if (this.closing !== undefined) return;
    // A relay fetches when a downstream client asks (fetch()), not on its own: a file taken up here would be
    // staged with nobody to push it to, and never deleted. What it relayed is in its server half's ledger.
    if (this.relay !== undefined && !this.relay.prefetch) return;
    const room = (this.opts.maxPending ?? DEFAULTS.maxPending) - this.jobs.size;
    if (room > 0) {
      const due = this.book.due(
        Date.now(),
        room,
        (k) => this.jobs.has(k) || this.history.has(k),
      );
      this.waiting = due.length >= room;
      for (const record of due) this.retry(record);
    }
    this.arm();
  }

  private retry(record: FileRecord): void {
    const candidates = this.storedOffers(record.key);
    if (candidates.length === 0) {
      void this.book.givenUp(
        record.key,
        "no stored announcement to fetch it from",
      );
      return;
    }
    this.counters.retries++;
    this.opts.onEvent?.({
      type: "retried",
      uid: record.key,
      attempts: record.attempts,
    });
    // Relay mode after a restart: a file taken up from the ledger may never have been re-announced downstream (killed first).
    this.relay?.heard(candidates[0]!);
    this.start({
      key: record.key,
      candidates,
      unresponsive: new Set(),
      record,
    });
  }

  private arm(): void {
    const next = this.book.nextDue();
    if (next === undefined) return;
    // Rows running now keep an old next_try_at: look again in a second at the earliest.
    const at = Math.max(next, Date.now() + 1000);
    if (
      this.timer !== undefined &&
      this.timerAt <= at &&
      this.timerAt > Date.now()
    )
      return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      Math.min(at - Date.now(), 60_000),
    );
    this.timer.unref?.();
  }

  private start(job: Job): void {
    this.jobs.set(job.key, job);
    this.track(
      this.run(job).then(
        (outcome) => this.end(job, outcome),
        (err: unknown) => {
          this.end(job, new ClosedError(`transfer of ${job.key} abandoned`));
          throw err;
        },
      ),
    );
  }

  /**
   * The one place a job ends, once, whatever its outcome: out of memory, a
   * waiting `fetch()` told (the file, or why not), room for files waiting in
   * the ledger.
   */
  private end(job: Job, outcome: Fetched | Error): void {
    if (this.jobs.get(job.key) === job) this.jobs.delete(job.key);
    if (outcome instanceof Error) job.done?.reject(outcome);
    else job.done?.resolve(outcome);
    if (this.waiting) this.pump();
  }

  private remember(job: Job, ann: Announcement): void {
    this.counters.duplicates++;
    if (this.opts.relay === undefined)
      void this.book.offer(ann.key, ann.msg, ann.address, ann.provider);
    if (job.candidates.some((c) => c.address === ann.address)) return;
    job.candidates.push(ann);
    this.opts.log.debug(
      { uid: ann.key, provider: ann.provider },
      "announcement remembered",
    );
  }

  private notePeer(msg: Message): void {
    if (this.settings.processingDelayMs === undefined) return;
    const key = uidKey(msg);
    if (key !== undefined) this.peerClaims.add(key);
  }

  private track(task: Promise<void>): void {
    const tracked = task.catch((err: unknown) =>
      this.opts.log.error({ err }, "transfer crashed"),
    );
    this.tasks.add(tracked);
    void tracked.finally(() => this.tasks.delete(tracked));
  }

  /** What the job produced: the file, or why not. */
  private async run(job: Job): Promise<Fetched | Error> {
    const delay = this.settings.processingDelayMs;
    if (delay !== undefined && job.record === undefined) {
      if (
        delay > 0 &&
        !(await sleep(delay, this.intake.signal).then(
          () => true,
          () => false,
        ))
      )
        return this.abandoned(job);
      if (this.peerClaims.has(job.key)) {
        this.counters.stoodDown++;
        this.opts.log.info({ uid: job.key }, "standing down");
        void this.book.givenUp(job.key, "left to the primary client");
        return new ClosedError(`${job.key} left to the primary client`);
      }
    }
    return this.transfer(job);
  }

  private abandoned(job: Job): Error {
    return new ClosedError(`transfer of ${job.key} abandoned`);
  }

  private async transfer(job: Job): Promise<Fetched | Error> {
    let lastError = "no provider answered";
    let retryAt = 0;
    for (let i = 0; i < job.candidates.length; i++) {
      if (this.intake.signal.aborted) return this.abandoned(job);
      const ann = job.candidates[i]!;
      const dead = this.health.deadUntil(ann.address);
      if (dead > 0 || !(await this.reachable(ann))) {
        this.counters.deadSkips++;
        retryAt = Math.max(retryAt, this.health.deadUntil(ann.address));
        lastError = `${ann.address} does not answer`;
        continue;
      }
      if (i > 0) {
        this.counters.failovers++;
        this.opts.onEvent?.({ type: "failover", provider: ann.provider });
      }
      const outcome = await this.lanes
        .use(ann.address, ann.msg.subject, () =>
          this.slots.use(() => this.attempt(job, ann)),
        )
        .catch((err: unknown) => failureText(err));
      if (typeof outcome !== "string") return this.succeed(job, ann, outcome);
      lastError = outcome;
    }
    if (this.intake.signal.aborted) return this.abandoned(job);
    this.roundFailed(job, lastError, retryAt);
    return new TransferError(`no provider could deliver ${job.key}`, {
      scheme: "push",
      destination: job.key,
    });
  }

  /** A verified address, or one that answers a ping now (shared by every file waiting on it). */
  private reachable(ann: Announcement): Promise<boolean> {
    return this.health.ready(ann.address, async () => {
      try {
        const pong = await ping(ann.address, ann.msg.subject, {
          ...this.settings,
          requester: this.opts.requester,
          stamp: this.stamp,
          signal: this.owner.signal,
        });
        this.pong(ann.address, pong);
        return true;
      } catch (err) {
        if (this.owner.signal.aborted) return false;
        const until = this.health.failed(ann.address);
        this.opts.log.warn(
          { err, provider: ann.address, retryInMs: until - Date.now() },
          "request address does not answer",
        );
        return false;
      }
    });
  }

  /** Every provider failed this round: retry later, or give up past max_retry_age. */
  private roundFailed(job: Job, error: string, notBefore: number): void {
    this.counters.failed++;
    const now = Date.now();
    const since = job.record?.announcedAt ?? now;
    const maxAge = this.settings.maxRetryAgeMs ?? DEFAULTS.maxRetryAgeMs;
    const providers = job.candidates.map((c) => c.address);
    const givingUp = now - since >= maxAge;
    this.opts.onEvent?.({
      type: "failed",
      uid: job.key,
      providers: job.candidates.map((c) => c.provider),
      givenUp: givingUp,
      error,
    });
    if (givingUp) {
      this.counters.givenUp++;
      void this.book.givenUp(job.key, error);
      this.opts.log.error(
        { uid: job.key, providers, err: { message: error } },
        "file given up",
      );
      return;
    }
    const attempts = (job.record?.attempts ?? 0) + (job.sent ?? 0);
    const delay = backoff(
      Math.max(0, attempts - 1),
      this.opts.retryBaseMs ?? DEFAULTS.retryBaseMs,
      this.opts.retryMaxMs ?? DEFAULTS.retryMaxMs,
    );
    const at = Math.max(now + delay, notBefore);
    // Armed once committed: nextDue() reads committed rows.
    void this.book.failed(job.key, error, at).then(() => this.arm());
    this.opts.log.error(
      { uid: job.key, providers, retryInMs: at - now },
      "transfer failed",
    );
  }

  /** One push to one server: the destination on success, the error text on failure. */
  private async attempt(
    job: Job,
    ann: Announcement,
  ): Promise<Destination | string> {
    const log = lazyChild(this.opts.log, {
      uid: job.key,
      provider: ann.address,
    });
    const started = Date.now();
    let scheme = "unknown";
    this.counters.active++;
    this.counters.peakActive = Math.max(
      this.counters.peakActive,
      this.counters.active,
    );
    try {
      const dest = await this.opts.hooks.prepare(ann, this.owner.signal);
      scheme = dest.scheme;
      if (
        (job.record !== undefined || (job.sent ?? 0) > 0) &&
        (await this.settled(job, ann, dest, log))
      )
        return dest;
      // The public push and the request are one push: same sender and time.
      const stamp = this.stamp();
      // Committed before the request goes out, so a restart after a kill -9 knows to ask about it;
      // bounded, since a full state disk must not stop transfers.
      await settlesWithin(
        this.book.sent(job.key, ann.address),
        SENT_WAIT_MS,
        this.owner.signal,
      );
      this.owner.signal.throwIfAborted();
      job.sent = (job.sent ?? 0) + 1;
      // Queued before the request, not awaited: the PUB socket sends it first anyway.
      void this.opts.hooks
        .publish(
          pushMessage(ann.msg, dest.public, () => stamp, dest.backupTargets),
        )
        .catch((err: unknown) => log.warn({ err }, "publish failed"));
      const request = pushMessage(
        ann.msg,
        dest.request,
        () => stamp,
        dest.backupTargets,
      );
      const reply = await this.batcher
        .push(
          ann.address,
          request,
          this.pushOptions(ann, log, () => this.lastHope(job, ann)),
          // Pushes in one batch go to the same place: a slow destination host holds back only its own batch.
          urlOrigin(dest.request),
        )
        .finally(() => this.endedHere.add(job.key));
      this.health.answered(ann.address);
      expectReply(reply, PUSH_REPLIES);
      await this.opts.hooks.verify(ann, dest, this.owner.signal);
      // Straight to the chain's logger: a child for one line costs more than the line.
      this.opts.log.info(
        {
          uid: job.key,
          provider: ann.address,
          destination: dest.public,
          durationMs: Date.now() - started,
        },
        "push completed",
      );
      this.opts.onEvent?.({
        type: "pushed",
        provider: ann.provider,
        scheme: dest.scheme,
        seconds: (Date.now() - started) / 1000,
        ok: true,
      });
      return dest;
    } catch (err) {
      if (!this.owner.signal.aborted)
        this.opts.onEvent?.({
          type: "pushed",
          provider: ann.provider,
          scheme,
          seconds: (Date.now() - started) / 1000,
          ok: false,
        });
      if (err instanceof LostPushError) this.counters.lostPushes++;
      else if (err instanceof RequestTimeoutError) {
        job.unresponsive.add(ann.address);
        this.health.failed(ann.address);
      }
      if (!this.owner.signal.aborted)
        log.warn({ err, durationMs: Date.now() - started }, "push failed");
      return failureText(err);
    } finally {
      this.counters.active--;
      this.health.pushEnded(ann.address);
    }
  }

  /**
   * Before pushing a file again (resumed from an earlier run, or retried):
   * wait while its server still runs the earlier push, then count it
   * delivered if it is complete under its final name; else clean up.
   */
  private async settled(
    job: Job,
    ann: Announcement,
    dest: Destination,
    log: Logger,
  ): Promise<boolean> {
    const uid = stringField(ann.msg, "uid");
    const earlier =
      job.record?.pushSentAt !== undefined &&
      (job.sent ?? 0) === 0 &&
      !this.endedHere.has(job.key);
    if (
      earlier &&
      job.record?.deliveredFrom !== undefined &&
      uid !== undefined
    ) {
      await this.waitForEarlierPush(
        job.record.deliveredFrom,
        ann.msg.subject,
        uid,
        log,
      );
    }
    if (
      (await this.opts.hooks.present?.(ann, dest, this.owner.signal)) === true
    ) {
      this.counters.foundPresent++;
      job.foundPresent = true;
      log.info({ destination: dest.public }, "already delivered");
      return true;
    }
    await this.opts.hooks.cleanup?.(ann, dest);
    return false;
  }

  /** Poll a move_it server while it says the push of `uid` is running (bounded by maxWaitMs). */
  private async waitForEarlierPush(
    address: string,
    subject: string,
    uid: string,
    log: Logger,
  ): Promise<void> {
    const deadline = Date.now() + (this.opts.maxWaitMs ?? DEFAULTS.maxWaitMs);
    while (Date.now() < deadline) {
      const pong = await ping(
        address,
        subject,
        {
          ...this.settings,
          requester: this.opts.requester,
          stamp: this.stamp,
          signal: this.owner.signal,
        },
        uid,
      ).catch(() => undefined);
      if (pong !== undefined) this.pong(address, pong);
      if (pong?.pushRunning !== true) return;
      log.info({ provider: address }, "earlier push still running");
      await sleep(this.settings.transferReqTimeoutMs, this.owner.signal);
    }
  }

  /** What a pong from `address` said: alive (and which instance), and how many pushes it takes at once. */
  private pong(address: string, pong: PongInfo): void {
    const restarted = this.health.answered(address, pong.instance);
    if (restarted !== undefined)
      this.opts.onServerRestart?.(
        address,
        restarted.provider,
        restarted.lastAnsweredAt,
      );
    this.lanes.told(address, pong.maxPushes);
    this.batcher.told(address, pong.maxBatch);
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

  private pushOptions(
    ann: Announcement,
    log: Logger,
    isAlive: () => boolean,
  ): PushOptions {
    return {
      requester: this.opts.requester,
      reqTimeoutMs: this.settings.reqTimeoutMs,
      transferReqTimeoutMs: this.settings.transferReqTimeoutMs,
      maxWaitMs: this.opts.maxWaitMs ?? DEFAULTS.maxWaitMs,
      stamp: this.stamp,
      log,
      signal: this.owner.signal,
      isAlive,
      uid: stringField(ann.msg, "uid"),
      instance: this.health.instance(ann.address),
      onPong: (pong) => this.pong(ann.address, pong),
    };
  }

  private async succeed(
    job: Job,
    winner: Announcement,
    dest: Destination,
  ): Promise<Fetched> {
    // From here on, new announcements of this uid are acked by route().
    this.history.add(job.key);
    this.counters.received++;
    void this.book.delivered(job.key, {
      from: winner.address,
      destination: deliveredUri(
        dest,
        stringField(winner.msg, "uri") ?? job.key,
      ),
      checksum: stringField(winner.msg, "checksum"),
      bytes: numberField(winner.msg, "filesize"),
    });
    this.reportDelivered(winner, dest);
    this.wakeFailed();
    await this.opts.hooks.publish(ackMessage(winner.msg, this.stamp));
    // Found delivered: the server whose push got through never saw it end, so it is told too (it may delete the file).
    const acks = [
      ...(job.foundPresent === true ? [winner] : []),
      ...this.others(job, winner),
    ].map((ann) => this.ack(ann));
    try {
      await this.opts.hooks.complete(winner, dest, this.owner.signal);
    } catch (err) {
      this.opts.log.error({ err, uid: job.key }, "post-processing failed");
    }
    // The job ends now; the acks to the other servers go on (and are waited for by close()).
    this.track(Promise.all(acks).then(() => undefined));
    return { ann: winner, dest };
  }

  /** A file got through: the destination works, so failed files are retried now (at most every few s). */
  private wakeFailed(): void {
    const now = Date.now();
    if (now - this.lastWake < WAKE_EVERY_MS || this.counters.failed === 0)
      return;
    this.lastWake = now;
    void this.book.wake().then(() => this.pump());
  }

  private reportDelivered(ann: Announcement, dest: Destination): void {
    if (this.opts.onEvent === undefined) return;
    const uri = stringField(ann.msg, "uri") ?? ann.key;
    this.opts.onEvent({
      type: "delivered",
      provider: ann.provider,
      scheme: dest.scheme,
      uid: ann.key,
      uri: deliveredUri(dest, uri),
      localPath: dest.local ? targetPath(dest, uri) : undefined,
      announcedAt: ann.msg.time.valueOf(),
      deliveredAt: Date.now(),
      data: ann.msg.dataObject,
    });
  }

  /** Every other server that announced the file and still answers, once each. */
  private others(job: Job, winner: Announcement): Announcement[] {
    const skip = new Set([winner.address, ...job.unresponsive]);
    const out: Announcement[] = [];
    for (const ann of job.candidates) {
      if (skip.has(ann.address) || this.health.deadUntil(ann.address) > 0)
        continue;
      skip.add(ann.address);
      out.push(ann);
    }
    return out;
  }

  private async ack(ann: Announcement): Promise<void> {
    try {
      const reply = await this.opts.requester.request(
        ann.address,
        ackMessage(ann.msg, this.stamp),
        {
          timeoutMs: this.settings.reqTimeoutMs,
          signal: this.owner.signal,
        },
      );
      expectReply(reply, ["ack"]);
      this.counters.acks++;
      this.opts.onEvent?.({ type: "acked", provider: ann.provider, ok: true });
      this.opts.log.debug({ uid: ann.key, provider: ann.address }, "ack sent");
    } catch (err) {
      if (this.owner.signal.aborted) return;
      this.counters.ackFailures++;
      this.opts.onEvent?.({ type: "acked", provider: ann.provider, ok: false });
      this.opts.log.warn(
        { err, uid: ann.key, provider: ann.address },
        "ack failed",
      );
    }
  }
}

/** Stored offers first (their order is the announcement order), then `ann` if its address is new. */
function mergeOffers(
  stored: Announcement[],
  ann: Announcement,
): Announcement[] {
  return stored.some((o) => o.address === ann.address)
    ? stored
    : [...stored, ann];
}

function numberField(msg: Message, key: string): number | undefined {
  const v = msg.dataObject[key];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function pickSettings(s: CoordinatorSettings): CoordinatorSettings {
  return {
    reqTimeoutMs: s.reqTimeoutMs,
    transferReqTimeoutMs: s.transferReqTimeoutMs,
    maxConcurrent: s.maxConcurrent,
    processingDelayMs: s.processingDelayMs,
    maxRetryAgeMs: s.maxRetryAgeMs,
  };
}

/** The counts the coordinator keeps itself; the rest of its stats come from the pending book and the batcher. */
type Counters = Omit<
  CoordinatorStats,
  "pending" | "pushBatches" | "batchedPushes" | "batchDeferred"
>;

function newCounters(): Counters {
  return {
    announcements: 0,
    duplicates: 0,
    alreadyReceived: 0,
    received: 0,
    failed: 0,
    givenUp: 0,
    retries: 0,
    foundPresent: 0,
    lostPushes: 0,
    deadSkips: 0,
    failovers: 0,
    acks: 0,
    ackFailures: 0,
    stoodDown: 0,
    deferred: 0,
    active: 0,
    peakActive: 0,
  };
}

export type { Fetched, RelayOptions } from "./relay.js";
