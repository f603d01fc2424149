/**
 * What a chain knows about each server request address, so one that never
 * answers cannot hold up other files (no head-of-line blocking). An address
 * is *verified* once anything came back from it. While it is not, one push
 * at a time goes to it; other files for it meanwhile wait for one shared
 * `ping` instead, without holding a transfer slot. An
 * address that did not answer is *dead* for a backoff that grows per failure
 * (2 s .. 5 min) and resets when its provider is heard again; files whose
 * only offers are dead wait in the ledger until then.
 */
import { backoff } from "../util/abort.js";

interface Health {
  verified: boolean;
  failures: number;
  deadUntil: number;
  /** The server's `move_it.instance` from its last pong. */
  instance: string | undefined;
  /** When the address last answered, ms. */
  answeredAt: number;
  /** The provider (publisher) the address was announced by. */
  provider: string | undefined;
  /** The verification ping in flight, shared by every file waiting on it. */
  checking: Promise<boolean> | undefined;
  /** A first push is out to the unverified address. */
  probing: boolean;
}

export class AddressHealth {
  private readonly map = new Map<string, Health>();

  constructor(
    private readonly baseMs = 2_000,
    private readonly maxMs = 300_000,
  ) {}

  private of(address: string): Health {
    let h = this.map.get(address);
    if (h === undefined) {
      h = {
        verified: false,
        failures: 0,
        deadUntil: 0,
        instance: undefined,
        answeredAt: 0,
        provider: undefined,
        checking: undefined,
        probing: false,
      };
      this.map.set(address, h);
    }
    return h;
  }

  /** Remember which provider announced the address. */
  learn(address: string, provider: string): void {
    this.of(address).provider = provider;
  }

  /** Until when the address is backed off; 0 if it is not. */
  deadUntil(address: string, now = Date.now()): number {
    const until = this.map.get(address)?.deadUntil ?? 0;
    return until > now ? until : 0;
  }

  verified(address: string): boolean {
    return this.map.get(address)?.verified ?? false;
  }

  instance(address: string): string | undefined {
    return this.map.get(address)?.instance;
  }

  /**
   * Something came back from the address. When it names another server
   * instance than before (the server restarted), returns what the address was
   * announced by and when the earlier instance last answered.
   */
  answered(
    address: string,
    instance?: string,
    now = Date.now(),
  ): { provider: string | undefined; lastAnsweredAt: number } | undefined {
    const h = this.of(address);
    h.verified = true;
    h.failures = 0;
    h.deadUntil = 0;
    const restarted =
      instance !== undefined &&
      h.instance !== undefined &&
      instance !== h.instance
        ? { provider: h.provider, lastAnsweredAt: h.answeredAt }
        : undefined;
    if (instance !== undefined) h.instance = instance;
    h.answeredAt = now;
    return restarted;
  }

  /** The address did not answer: back it off. */
  failed(address: string, now = Date.now()): number {
    const h = this.of(address);
    h.failures++;
    h.deadUntil = now + backoff(h.failures - 1, this.baseMs, this.maxMs);
    return h.deadUntil;
  }

  /** A push to the address ended (a push to an unverified address is the only one out). */
  pushEnded(address: string): void {
    this.of(address).probing = false;
  }

  /** The provider was heard again: its addresses get a new chance at once. */
  revive(provider: string): void {
    for (const h of this.map.values()) {
      if (h.provider !== provider) continue;
      h.deadUntil = 0;
      h.failures = 0;
    }
  }

  /**
   * True when the address may get a push: verified, the first push to it,
   * or `check()` (a ping) succeeded. Concurrent callers share one check.
   */
  async ready(
    address: string,
    check: () => Promise<boolean>,
  ): Promise<boolean> {
    const h = this.of(address);
    if (h.verified) return true;
    if (!h.probing) {
      h.probing = true;
      return true;
    }
    h.checking ??= check().finally(() => (h.checking = undefined));
    return h.checking;
  }
}
