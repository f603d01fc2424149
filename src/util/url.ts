/**
 * Destination URLs as Python's `urlparse` sees them: no percent-decoding, so
 * a path is used exactly as the client wrote it. A bare path is `file`.
 */

export interface ParsedUrl {
  scheme: string;
  username: string | undefined;
  password: string | undefined;
  hostname: string;
  port: number | undefined;
  /** The path, as written (may end in `/` to name a directory). */
  path: string;
}

const URL_RE = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/]*)(.*)$/;

/** `scheme://user@host:port` of a URL, as written (credentials kept); `file://` for a bare path. */
export function urlOrigin(text: string): string {
  const m = URL_RE.exec(text);
  return m === null ? "file://" : `${m[1]}://${m[2]}`;
}

/** Split a URL or bare path. Throws TypeError on a malformed port. */
export function parseUrl(text: string): ParsedUrl {
  const m = URL_RE.exec(text);
  if (m === null) {
    return {
      scheme: "file",
      username: undefined,
      password: undefined,
      hostname: "",
      port: undefined,
      path: text,
    };
  }
  const [, scheme = "", netloc = "", path = ""] = m;
  const at = netloc.lastIndexOf("@");
  const userinfo = at >= 0 ? netloc.slice(0, at) : undefined;
  const hostport = at >= 0 ? netloc.slice(at + 1) : netloc;
  const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostport);
  if (hp === null) throw new TypeError(`malformed host in URL`);
  const portText = hp[2];
  const port =
    portText === undefined || portText === "" ? undefined : Number(portText);
  if (port !== undefined && (port < 1 || port > 65535))
    throw new TypeError(`port out of range in URL`);
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(":");
    username = safeDecode(colon >= 0 ? userinfo.slice(0, colon) : userinfo);
    password = colon >= 0 ? safeDecode(userinfo.slice(colon + 1)) : undefined;
  }
  return {
    scheme: scheme.toLowerCase(),
    username,
    password,
    hostname: (hp[1] ?? "").replace(/^\[|\]$/g, ""),
    port,
    path,
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function hostPart(u: ParsedUrl): string {
  const host = u.hostname.includes(":") ? `[${u.hostname}]` : u.hostname;
  return u.port === undefined ? host : `${host}:${u.port}`;
}

/** Rebuild a URL; credentials only when `withCredentials`. */
export function formatUrl(u: ParsedUrl, withCredentials = false): string {
  let userinfo = "";
  if (withCredentials && u.username !== undefined) {
    userinfo = encodeURIComponent(u.username);
    if (u.password !== undefined)
      userinfo += `:${encodeURIComponent(u.password)}`;
    userinfo += "@";
  }
  return `${u.scheme}://${userinfo}${hostPart(u)}${u.path}`;
}

/**
 * The URL with any `user:password@` removed, as the reference's replies
 * carry it. Text that is not a URL comes back unchanged.
 */
export function redactUrl(text: string): string {
  const m = URL_RE.exec(text);
  if (m === null) return text;
  const netloc = m[2] ?? "";
  const at = netloc.lastIndexOf("@");
  return at < 0 ? text : `${m[1]}://${netloc.slice(at + 1)}${m[3] ?? ""}`;
}

/** Remove every `scheme://user:pass@` credential found inside free text (error messages). */
export function redactText(text: string): string {
  return text.replace(/([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/@\s]*@/g, "$1");
}
