/** Small helpers for AbortSignal-driven code. */

/**
 * Every operation in flight under one long-lived signal (a chain's, a
 * client's) listens to it through ONE listener here, however many there
 * are: 200 concurrent pushes each adding their own `abort` listener made
 * Node print MaxListenersExceededWarning (its limit is 10 per EventTarget),
 * though nothing leaked. The listener is removed when the last one goes.
 */
interface Fanout {
  fns: Set<() => void>;
  listener: () => void;
}
const fanouts = new WeakMap<AbortSignal, Fanout>();

/** Call `fn` once when `signal` aborts (at once if it has); returns the unsubscribe. */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn();
    return () => undefined;
  }
  let fo = fanouts.get(signal);
  if (fo === undefined) {
    const fns = new Set<() => void>();
    const listener = (): void => {
      fanouts.delete(signal);
      for (const f of [...fns]) f();
    };
    fo = { fns, listener };
    fanouts.set(signal, fo);
    signal.addEventListener("abort", listener, { once: true });
  }
  const mine = fo;
  // Each registration is its own entry, even of the same function.
  const entry = (): void => fn();
  mine.fns.add(entry);
  return () => {
    if (
      !mine.fns.delete(entry) ||
      mine.fns.size > 0 ||
      fanouts.get(signal) !== mine
    )
      return;
    fanouts.delete(signal);
    signal.removeEventListener("abort", mine.listener);
  };
}

/**
 * Await `op`; if `signal` aborts first, call `stop` (which must make `op`
 * settle, e.g. by closing its socket) and throw the signal's reason. For
 * library calls that take no AbortSignal (ftp, sftp).
 */
export async function abortable<T>(
  signal: AbortSignal,
  op: () => Promise<T>,
  stop: () => void,
): Promise<T> {
  signal.throwIfAborted();
  const onAbort = (): void => stop();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await op();
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw err;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** A promise that resolves after `ms`, or rejects with the signal's reason when it aborts. Never leaks its timer. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const off =
      signal === undefined
        ? () => undefined
        : onAbort(signal, () => {
            clearTimeout(timer);
            reject(signal.reason as Error);
          });
    const timer = setTimeout(() => {
      off();
      resolve();
    }, ms);
  });
}

/**
 * True once `p` settles or `signal` aborts, false when `ms` pass first; never
 * rejects. One timer and one (shared) listener, both removed when it
 * resolves: this runs on every push.
 */
export function settlesWithin(
  p: Promise<unknown>,
  ms: number,
  signal?: AbortSignal,
): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(true);
  return new Promise((resolve) => {
    let off = (): void => undefined;
    const finish = (settled: boolean): void => {
      clearTimeout(timer);
      off();
      resolve(settled);
    };
    const timer = setTimeout(() => finish(false), ms);
    if (signal !== undefined) off = onAbort(signal, () => finish(true));
    p.then(
      () => finish(true),
      () => finish(true),
    );
  });
}

/**
 * A controller for one operation that also aborts when `parent` does; call
 * `done()` when the operation settles. Used instead of AbortSignal.any():
 * in Node 20 every AbortSignal.any() leaves a WeakRef on its long-lived
 * parent that is never removed (two per push showed up as a steady heap
 * climb in the 100k-file soak). Children share one listener on the parent
 * (see `onAbort`). `release()` instead of `done()` when nothing listens on
 * the signal any more: it skips dispatching an abort no one hears.
 */
export function childController(parent: AbortSignal | undefined): {
  signal: AbortSignal;
  done(reason?: unknown): void;
  release(): void;
} {
  const local = new AbortController();
  const off =
    parent === undefined
      ? () => undefined
      : onAbort(parent, () => local.abort(parent.reason));
  return {
    signal: local.signal,
    done: (reason?: unknown) => {
      off();
      local.abort(reason);
    },
    release: off,
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
