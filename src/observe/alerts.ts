/**
 * Webhook alerts (`alert_url`): one JSON POST per alert, the body
 * Slack-compatible (`text`, which Slack, Mattermost and Rocket.Chat show),
 * with the details also under `move_it` for other receivers. Sent one at a
 * time per URL, each tried three times (1 s, 5 s apart) with a 10 s timeout;
 * a failed alert is logged, never thrown.
 */
import type { Logger } from "../log.js";
import { sleep } from "../util/abort.js";
import { redactUrl } from "../util/url.js";

/** What an alert is about. */
export type AlertKind =
  "file_given_up" | "slot_incomplete" | "provider_down" | "provider_up";

export interface Alert {
  kind: AlertKind;
  chain: string;
  /** One line for people. */
  text: string;
  /** Machine-readable details. */
  details: Record<string, unknown>;
}

const RETRY_MS = [1000, 5000];

/** See the module comment. */
export class AlertSender {
  private readonly queues = new Map<string, Promise<void>>();
  private readonly ctrl = new AbortController();

  constructor(
    private readonly program: string,
    private readonly log: Logger,
  ) {}

  /** Queue an alert for `url`; returns when it was sent or given up. */
  send(url: string, alert: Alert): Promise<void> {
    const prev = this.queues.get(url) ?? Promise.resolve();
    const next = prev.then(() => this.post(url, alert));
    this.queues.set(url, next);
    void next.finally(() => {
      if (this.queues.get(url) === next) this.queues.delete(url);
    });
    return next;
  }

  /** Stop retrying; alerts not yet sent are dropped. */
  close(): void {
    this.ctrl.abort();
  }

  private async post(url: string, alert: Alert): Promise<void> {
    const body = JSON.stringify({
      text: `[${this.program}] ${alert.chain}: ${alert.text}`,
      move_it: {
        program: this.program,
        kind: alert.kind,
        chain: alert.chain,
        ...alert.details,
      },
    });
    for (let attempt = 0; ; attempt++) {
      if (this.ctrl.signal.aborted) return;
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          signal: AbortSignal.any([
            this.ctrl.signal,
            AbortSignal.timeout(10_000),
          ]),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          this.log.info({ kind: alert.kind, chain: alert.chain }, "alert sent");
          return;
        }
        throw new Error(`HTTP ${res.status}`);
      } catch (err) {
        const delay = RETRY_MS[attempt];
        if (delay === undefined || this.ctrl.signal.aborted) {
          if (!this.ctrl.signal.aborted)
            this.log.warn(
              { err, url: redactUrl(url), kind: alert.kind },
              "alert not sent",
            );
          return;
        }
        if (
          !(await sleep(delay, this.ctrl.signal).then(
            () => true,
            () => false,
          ))
        )
          return;
      }
    }
  }
}
