/** Small helpers for AbortSignal-driven code. */

/** A promise that resolves after `ms`, or rejects with the signal's reason when it aborts. Never leaks its timer. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * True once `p` settles or `signal` aborts, false when `ms` pass first; never
 * rejects. One timer and one listener, both removed when it resolves: this
 * runs on every push, where an AbortController and a dispatched abort each
 * time showed in the profile.
 */
export function settlesWithin(p: Promise<unknown>, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (settled: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(settled);
    };
    const onAbort = (): void => finish(true);
    const timer = setTimeout(() => finish(false), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
    p.then(
      () => finish(true),
      () => finish(true),
    );
  });
}

/** Resolves when the signal aborts (never rejects). */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

/**
 * A controller for one operation that also aborts when `parent` does; call
 * `done()` when the operation settles. Used instead of AbortSignal.any():
 * in Node 20 every AbortSignal.any() leaves a WeakRef on its long-lived
 * parent that is never removed (two per push showed up as a steady heap
 * climb in the 100k-file soak). `release()` instead of `done()` when nothing
 * listens on the signal any more: it skips dispatching an abort no one hears.
 */
export function childController(parent: AbortSignal | undefined): { signal: AbortSignal; done(reason?: unknown): void; release(): void } {
  const local = new AbortController();
  const onAbort = (): void => local.abort(parent?.reason);
  if (parent?.aborted === true) local.abort(parent.reason);
  else parent?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: local.signal,
    done: (reason?: unknown) => {
      parent?.removeEventListener("abort", onAbort);
      local.abort(reason);
    },
    release: () => parent?.removeEventListener("abort", onAbort),
  };
}

/** Exponential backoff with jitter: attempt 0 → ~base, capped at max. */
export function backoff(attempt: number, baseMs = 200, maxMs = 30_000): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(exp / 2 + (Math.random() * exp) / 2);
}

/** A promise with its resolve/reject exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
