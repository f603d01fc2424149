/**
 * Decides whether a requested `uri` may be served: only files this server
 * announced, or that match `origin` in full (directory included), and only
 * if, once links are resolved, the file is still inside the tree it was
 * announced from. Everything else is refused.
 */
import { realpath } from "node:fs/promises";
import { sep } from "node:path";
import { RefusedError } from "../errors.js";
import { validate } from "../pattern/index.js";
import { realpathOf } from "../util/local-fs.js";
import { watchRoot } from "./watcher.js";

export interface GuardContext {
  origin: string | undefined;
  /** The tree an announced path was served from, if this chain announced it. */
  announced: (path: string) => { root: string } | undefined;
}

/** A `file://host/path` uri is read as its path, as the reference does. */
export function uriPath(uri: string): string {
  const m = /^file:\/\/[^/]*(\/.*)$/.exec(uri);
  return m?.[1] ?? uri;
}

const rootCache = new Map<string, string>();

/** A watched root's real path, remembered: roots are few and rarely move. */
async function realRootOf(root: string): Promise<string> {
  const known = rootCache.get(root);
  if (known !== undefined) return known;
  const real = await realpath(root).catch(() => root);
  if (rootCache.size > 256) rootCache.clear();
  rootCache.set(root, real);
  return real;
}

function inside(root: string, path: string): boolean {
  return (
    path === root || path.startsWith(root.endsWith(sep) ? root : root + sep)
  );
}

/**
 * The real path to serve for `uri`, or a RefusedError whose message is the
 * reply text (`<uri> not reachable`, or Python's errno text for a missing file)
 * and whose `cause` says why, for the log.
 */
export async function resolveServable(
  uri: unknown,
  ctx: GuardContext,
): Promise<string> {
  if (typeof uri !== "string" || uri === "")
    throw new RefusedError("missing uri");
  const path = uriPath(uri);
  const notReachable = (why: string): RefusedError =>
    new RefusedError(`${uri} not reachable`, { cause: new Error(why) });
  if (!path.startsWith("/") || path.includes("\0"))
    throw notReachable("not an absolute path");
  if (path.split("/").includes("..")) throw notReachable("path contains '..'");
  const announced = ctx.announced(path);
  let root: string;
  if (announced !== undefined) root = announced.root;
  else if (ctx.origin !== undefined && validate(ctx.origin, path))
    root = watchRoot(ctx.origin);
  else throw notReachable("neither announced nor matching origin");
  let real: string;
  try {
    real = await realpathOf(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new RefusedError(`[Errno 2] No such file or directory: '${path}'`, {
        cause: err,
      });
    throw notReachable(`cannot resolve: ${code ?? String(err)}`);
  }
  const realRoot = await realRootOf(root);
  if (!inside(realRoot, real))
    throw notReachable(`resolves outside ${realRoot} through a link`);
  return real;
}
