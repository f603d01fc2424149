/**
 * What a chain did lately, for the status page and `move_it_status`: the
 * last files with their latency, and per-minute totals over the last hours
 * (bounded: 50 files, 6 h of minutes per chain).
 */

/** One delivered file as the status view shows it. */
export interface RecentFile {
  uid: string;
  uri: string;
  provider: string;
  /** Delivered at, ms since the epoch. */
  at: number;
  /** Announcement to delivery, s. */
  latencySeconds: number;
  /** Now minus the file's own time at delivery, s; undefined when it has none. */
  ageSeconds: number | undefined;
}

/** One minute of deliveries. */
export interface Minute {
  /** Start of the minute, ms since the epoch. */
  t: number;
  files: number;
  bytes: number;
  latencySum: number;
  latencyMax: number;
}

const RECENT_FILES = 50;
const MINUTES_KEPT = 6 * 60;

/** See the module comment. */
export class ChainActivity {
  readonly recent: RecentFile[] = [];
  private readonly minutes: Minute[] = [];
  lastDeliveryAt = 0;
  lastFailureAt = 0;
  /** Since start, kept per chain name (so across reloads): files delivered, failed rounds (retried or given up), late, missing. */
  files = 0;
  failed = 0;
  late = 0;
  missing = 0;
  /** When a file was last found late or missing (0: never). */
  lastLateAt = 0;

  /** Note a delivered file. */
  delivered(file: RecentFile): void {
    this.files++;
    this.recent.unshift(file);
    if (this.recent.length > RECENT_FILES) this.recent.length = RECENT_FILES;
    this.lastDeliveryAt = Math.max(this.lastDeliveryAt, file.at);
    const m = this.minute(file.at);
    m.files++;
    m.latencySum += file.latencySeconds;
    m.latencyMax = Math.max(m.latencyMax, file.latencySeconds);
  }

  /** Count a file moved without keeping it in `recent` (server pushes). */
  count(at: number, bytes: number): void {
    this.files++;
    this.lastDeliveryAt = Math.max(this.lastDeliveryAt, at);
    const m = this.minute(at);
    m.files++;
    m.bytes += bytes;
  }

  /** Note files found late or missing. */
  lateOrMissing(what: "late" | "missing", n: number, at: number): void {
    this[what] += n;
    if (n > 0) this.lastLateAt = Math.max(this.lastLateAt, at);
  }

  /** Add bytes to the minute of `at` (sizes may be known only after the delivery). */
  bytes(at: number, n: number): void {
    this.minute(at).bytes += n;
  }

  /** Note a round in which no provider could deliver a file. */
  failure(at: number): void {
    this.failed++;
    this.lastFailureAt = Math.max(this.lastFailureAt, at);
  }

  /** Per-minute totals since `since` (ms), oldest first. */
  series(since: number): Minute[] {
    return this.minutes.filter((m) => m.t >= since).map((m) => ({ ...m }));
  }

  /** Files and bytes per minute over the `windowMinutes` full minutes before `now`. */
  rates(
    now: number,
    windowMinutes = 5,
  ): { filesPerMinute: number; bytesPerMinute: number } {
    const since = Math.floor(now / 60_000) * 60_000 - windowMinutes * 60_000;
    let files = 0;
    let bytes = 0;
    for (const m of this.minutes) {
      if (m.t < since) continue;
      files += m.files;
      bytes += m.bytes;
    }
    return {
      filesPerMinute: files / windowMinutes,
      bytesPerMinute: bytes / windowMinutes,
    };
  }

  private minute(at: number): Minute {
    const t = Math.floor(at / 60_000) * 60_000;
    const tail = this.minutes[this.minutes.length - 1];
    let m = tail?.t === t ? tail : this.minutes.find((x) => x.t === t);
    if (m === undefined) {
      m = { t, files: 0, bytes: 0, latencySum: 0, latencyMax: 0 };
      this.minutes.push(m);
      this.minutes.sort((a, b) => a.t - b.t);
      while (this.minutes.length > MINUTES_KEPT) this.minutes.shift();
    }
    return m;
  }
}
