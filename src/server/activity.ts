/**
 * The server's per-file lines ("announced", "push completed") are debug
 * records, as the reference server's are: at info, a burst of thousands of
 * files would spend more on log writes than on the files. This writes the
 * info line instead: every `everyMs` in which something happened, how many
 * files the chain announced and pushed, and the bytes sent.
 */
import type { Logger } from "../log.js";
import type { ServerStats } from "./stats.js";

/** Default interval of the activity line, ms. */
export const ACTIVITY_EVERY_MS = 60_000;

type Snapshot = Pick<
  ServerStats,
  "announced" | "pushes" | "pushesFailed" | "bytesSent"
>;

export class ActivityLog {
  private last: Snapshot;
  private since = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stats: ServerStats,
    private readonly log: Logger,
    private readonly everyMs = ACTIVITY_EVERY_MS,
  ) {
    this.last = snapshot(stats);
  }

  start(): void {
    this.timer ??= setInterval(() => this.write(), this.everyMs);
    this.timer.unref();
  }

  /** Write what happened since the last line (nothing if nothing did) and stop. */
  stop(): void {
    clearInterval(this.timer);
    this.write();
  }

  private write(): void {
    const now = snapshot(this.stats);
    const announced = now.announced - this.last.announced;
    const pushes = now.pushes - this.last.pushes;
    const failed = now.pushesFailed - this.last.pushesFailed;
    if (announced > 0 || pushes > 0 || failed > 0) {
      const seconds = Math.round((Date.now() - this.since) / 1000);
      this.log.info(
        {
          announced,
          pushes,
          failedPushes: failed,
          bytesSent: now.bytesSent - this.last.bytesSent,
          seconds,
        },
        "activity",
      );
    }
    this.last = now;
    this.since = Date.now();
  }
}

function snapshot(s: ServerStats): Snapshot {
  return {
    announced: s.announced,
    pushes: s.pushes,
    pushesFailed: s.pushesFailed,
    bytesSent: s.bytesSent,
  };
}
