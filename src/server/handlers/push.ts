/**
 * `push`: deliver the file(s) named in the request to its destination with
 * the mover for the scheme, then answer with the request's data, its
 * destination stripped of credentials.
 */
import { basename } from "node:path";
import { RefusedError, TransferError } from "../../errors.js";
import type { StreamSource } from "../../movers/mover.js";
import { Message, type JsonValue } from "../../message/index.js";
import {
  formatUrl,
  parseUrl,
  redactUrl,
  type ParsedUrl,
} from "../../util/url.js";
import { settlesWithin } from "../../util/abort.js";
import { deletesAfterServing, guardOf, type ChainContext } from "../context.js";
import { resolveServable, uriPath } from "../path-guard.js";

/** Wait at most this long for the deletion of a served staged copy to be committed before replying, ms. */
const SCHEDULE_WAIT_MS = 250;

/** One file a push or ack names: its `uri`, and the item's `uid` and `path` (rel_path) when it has them. */
export interface RequestedItem {
  readonly uri: unknown;
  readonly uid?: string | undefined;
  /** Appended to the destination's path for this item, as the reference does (`os.path.join`). */
  readonly path?: string | undefined;
}

/**
 * Every object of the request data that has a `uri`, at any depth: the file
 * itself, the items of a dataset or collection, the datasets inside a
 * collection, as the reference walks them. No `uri` anywhere: one item with
 * an undefined uri (refused as "missing uri").
 */
export function requestedItems(
  data: Record<string, JsonValue>,
): RequestedItem[] {
  const out: RequestedItem[] = [];
  walk(data, out, 0);
  return out.length === 0 ? [{ uri: undefined }] : out;
}

function walk(value: JsonValue, out: RequestedItem[], depth: number): void {
  if (depth > 32 || value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    for (const item of value) walk(item, out, depth + 1);
    return;
  }
  if ("uri" in value) {
    const uid = value["uid"];
    const path = value["path"];
    out.push({
      uri: value["uri"],
      uid: typeof uid === "string" ? uid : undefined,
      path: typeof path === "string" && path !== "" ? path : undefined,
    });
  }
  for (const item of Object.values(value as Record<string, JsonValue>))
    walk(item, out, depth + 1);
}

/** The uris a push or ack names (see `requestedItems`). */
export function requestedUris(data: Record<string, JsonValue>): unknown[] {
  return requestedItems(data).map((item) => item.uri);
}

/** `path` joined onto a destination path the way Python's `os.path.join` does (an absolute `path` replaces it). */
export function joinRelPath(base: string, rel: string): string {
  if (rel.startsWith("/")) return rel;
  return base === "" || base.endsWith("/") ? `${base}${rel}` : `${base}/${rel}`;
}

/** The reply type the reference uses: `file` for one uri, else the collection kind. */
function replyType(data: Record<string, JsonValue>): string {
  if ("uri" in data) return "file";
  return "collection" in data ? "collection" : "dataset";
}

/** The request data with every URL-ish credential removed, keys in place. */
export function cleanedData(
  data: Record<string, JsonValue>,
): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = { ...data };
  if (typeof out["destination"] === "string")
    out["destination"] = redactUrl(out["destination"]);
  return out;
}

function destinationOf(data: Record<string, JsonValue>): ParsedUrl {
  const dest = data["destination"];
  if (typeof dest !== "string" || dest === "")
    throw new RefusedError("missing destination");
  try {
    return parseUrl(dest);
  } catch (err) {
    throw new RefusedError(
      `bad destination ${redactUrl(dest)}: ${(err as Error).message}`,
    );
  }
}

function backupTargets(data: Record<string, JsonValue>): string[] | undefined {
  const b = data["backup_targets"];
  if (Array.isArray(b))
    return b.filter((x): x is string => typeof x === "string");
  return typeof b === "string" ? b.split(/[\s,]+/).filter(Boolean) : undefined;
}

async function deliver(
  ctx: ChainContext,
  source: string,
  stream: StreamSource | undefined,
  dest: ParsedUrl,
  data: Record<string, JsonValue>,
): Promise<void> {
  if (!ctx.movers.has(dest.scheme))
    throw new TransferError(`'${dest.scheme}'`, {
      scheme: dest.scheme,
      destination: formatUrl(dest),
    });
  const mover = ctx.movers.get(dest.scheme);
  const key = `${source}\n${formatUrl(dest)}\n${dest.username ?? ""}`;
  const started = performance.now();
  const { result, joined } = await ctx.joiner.run(
    key,
    async () => {
      await ctx.temporaries.beforePush(dest);
      const temporaries = ctx.temporaries.forPush(ctx.config.name, dest);
      const req = {
        source,
        stream,
        destination: dest,
        connectionParameters: ctx.config.connectionParameters,
        network: ctx.config.network,
        backupTargets: backupTargets(data),
        temporaries,
        signal: ctx.signal,
        log: ctx.log,
      };
      return mover.move(req).finally(() => temporaries?.settled());
    },
    () => ctx.stats.pushesJoined++,
  );
  if (!joined) ctx.stats.bytesSent += result.bytes;
  const seconds = (performance.now() - started) / 1000;
  ctx.emit({
    type: "pushed",
    scheme: dest.scheme,
    bytes: joined ? 0 : result.bytes,
    seconds,
    joined,
  });
  ctx.log.debug(
    {
      uid: basename(source),
      destination: result.uri,
      method: result.method,
      bytes: result.bytes,
      joined,
      durationMs: Math.round(seconds * 1000),
    },
    "push completed",
  );
}

/** The uids a push names: those of every item with a uri (see `requestedItems`). */
export function requestedUids(data: Record<string, JsonValue>): string[] {
  return requestedItems(data).flatMap((item) =>
    item.uid === undefined ? [] : [item.uid],
  );
}

export function handlePush(ctx: ChainContext, req: Message): Promise<Message> {
  return ctx.running.around(requestedUids(req.dataObject), () =>
    push(ctx, req),
  );
}

async function push(ctx: ChainContext, req: Message): Promise<Message> {
  const data = req.dataObject;
  const dest = destinationOf(data);
  const items = requestedItems(data);
  const sources: string[] = [];
  /** Per item: served through the source hook (a relayed file's staged copy). */
  const viaHook: boolean[] = [];
  const streams: (StreamSource | undefined)[] = [];
  for (const { uri } of items) {
    const local = await ctx.sourceHook?.(req, uri, ctx.signal);
    // Streamed bytes (a bucket's object): no local file; the uri names it for joins and logs.
    if (typeof local === "object") {
      sources.push(local.uri);
      streams.push(local);
      viaHook.push(false);
      continue;
    }
    viaHook.push(local !== undefined);
    sources.push(local ?? (await resolveServable(uri, guardOf(ctx))));
    streams.push(undefined);
  }
  const hooked = viaHook.includes(true);
  const files = sources.filter((_, i) => streams[i] === undefined);
  // A file being pushed is not deleted meanwhile, and a due deletion waits remove_delay more.
  for (const s of files) ctx.deleter.postpone(s, ctx.config.removeDelay);
  await ctx.running.around(sources, async () => {
    for (const [i, source] of sources.entries()) {
      const rel = items[i]!.path;
      await deliver(
        ctx,
        source,
        streams[i],
        rel === undefined
          ? dest
          : { ...dest, path: joinRelPath(dest.path, rel) },
        data,
      );
    }
  });
  ctx.stats.pushes++;
  const to = formatUrl(dest);
  // A relayed file's ledger row is its staged copy's (the mirror recorded it so when relaying).
  for (const [i, { uri }] of items.entries())
    if (typeof uri === "string")
      ctx.ledger.pushed(
        ctx.config.name,
        viaHook[i] === true ? sources[i]! : uriPath(uri),
        req.sender,
        to,
      );
  if (hooked || deletesAfterServing(ctx.config)) {
    const scheduled = Promise.all(
      files.map((s) => ctx.deleter.schedule(s, ctx.config.removeDelay)),
    );
    // A staged copy's deletion is committed before the reply (bounded: a full disk must not stop pushes), so a
    // mirror killed after answering still deletes it: the downstream client will not ask for the file again.
    if (hooked) await settlesWithin(scheduled, SCHEDULE_WAIT_MS, ctx.signal);
  }
  const reply = cleanedData(data);
  // A relayed file is served from staging: say where it was served from, as the reference mirror does (D3).
  if (
    hooked &&
    "uri" in reply &&
    sources[0] !== undefined &&
    streams[0] === undefined
  )
    reply["uri"] = sources[0];
  return new Message(req.subject, replyType(data), reply);
}
