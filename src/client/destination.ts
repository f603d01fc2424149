/**
 * The destination a client asks a server to push to, built the way the
 * reference client builds it: the configured URL, scheme `file` by default,
 * this host's name when the URL names none, and `login` put in front of the
 * host. Only the request carries credentials; everything published or
 * logged uses the public form.
 */
import { basename } from "node:path";
import { parseUrl, redactUrl } from "../util/url.js";

export interface Destination {
  /** The URL sent in the push request; carries the login. */
  readonly request: string;
  /** The same URL without credentials: for publications and logs. */
  readonly public: string;
  readonly scheme: string;
  /** The path part; a directory when it ends in `/`. */
  readonly path: string;
  /** True when the file lands on this host's file system (`file` scheme). */
  readonly local: boolean;
  /** Alternative hosts the server may use (scp), sent as `backup_targets`. */
  readonly backupTargets?: readonly string[] | undefined;
  /**
   * What published uris start with, as the reference client writes them
   * (see `publishedBase`); unset: the local path for `file`, else `public`.
   */
  readonly published?: string | undefined;
}

export interface DestinationOptions {
  /** `user[:password]`: replaces any credentials in the URL. */
  login?: string | undefined;
  /** Host name used when the URL names none (Python's `socket.gethostname()`). */
  hostname: string;
}

/**
 * Build the destination from a configured (already composed) URL or bare path.
 * @throws TypeError on a malformed host or port.
 */
export function buildDestination(
  url: string,
  opts: DestinationOptions,
): Destination {
  const parsed = parseUrl(url);
  const scheme = parsed.scheme === "" ? "file" : parsed.scheme;
  const host = parsed.hostname === "" ? opts.hostname : parsed.hostname;
  const hostPort =
    (host.includes(":") ? `[${host}]` : host) +
    (parsed.port === undefined ? "" : `:${parsed.port}`);
  const request = `${scheme}://${userinfo(url, opts.login)}${hostPort}${parsed.path}`;
  return {
    request,
    public: redactUrl(request),
    scheme,
    path: parsed.path,
    local: scheme === "file",
  };
}

// The login replaces what the URL holds; without one, the URL's own
// credentials are kept as written (the reference drops them, losing them).
function userinfo(url: string, login: string | undefined): string {
  if (login !== undefined && login !== "") return `${login}@`;
  const netloc = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/]*)/.exec(url)?.[1] ?? "";
  const at = netloc.lastIndexOf("@");
  return at < 0 ? "" : netloc.slice(0, at + 1);
}

/** The destination as a directory: a `/` appended to the path (and URLs). */
export function asDirectory(dest: Destination): Destination {
  if (dest.path.endsWith("/")) return dest;
  return {
    ...dest,
    request: `${dest.request}/`,
    public: `${dest.public}/`,
    path: `${dest.path}/`,
  };
}

/** Where a file named like `source` ends up: inside a directory destination, else the path itself. */
export function targetPath(dest: Destination, source: string): string {
  return dest.path.endsWith("/")
    ? `${dest.path}${basename(source)}`
    : dest.path;
}

/**
 * Where the reference client's published uris start for a configured
 * (composed) destination URL: the bare path when the URL names no host or
 * names this machine (`hostIsLocal`), for every scheme but `s3`; else
 * `scheme://[user@]host[:port]path`, the user being the login's when there is
 * one. Never a password (the reference publishes one written in the URL).
 */
export function publishedBase(
  url: string,
  login: string | undefined,
  hostIsLocal: boolean,
): string {
  const parsed = parseUrl(url);
  if (parsed.scheme !== "s3" && (parsed.hostname === "" || hostIsLocal))
    return parsed.path;
  const loginUser =
    login === undefined || login === "" ? undefined : login.split(":")[0];
  const user = loginUser ?? parsed.username;
  const host =
    (parsed.hostname.includes(":") ? `[${parsed.hostname}]` : parsed.hostname) +
    (parsed.port === undefined ? "" : `:${parsed.port}`);
  return `${parsed.scheme}://${user === undefined || user === "" ? "" : `${user}@`}${host}${parsed.path}`;
}

/**
 * The `uri` the client publishes for a delivered file: inside the published
 * base (above) for a directory destination, as the reference writes it;
 * else where the file is (`deliveredUri`).
 */
export function publishedUri(dest: Destination, source: string): string {
  if (dest.published !== undefined && dest.path.endsWith("/"))
    return `${dest.published}${dest.published.endsWith("/") ? "" : "/"}${basename(source)}`;
  return deliveredUri(dest, source);
}

/**
 * Where a delivered file is: its local path for local destinations, else
 * the credential-free URL (the ledger, the mirror's staged copy).
 */
export function deliveredUri(dest: Destination, source: string): string {
  if (dest.local) return targetPath(dest, source);
  const name = basename(source);
  return dest.public.endsWith("/") ? `${dest.public}${name}` : dest.public;
}
