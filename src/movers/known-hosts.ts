/**
 * OpenSSH `known_hosts` checking for the SSH movers. Lines are
 * `[marker] patterns keytype base64key [comment]`; a pattern list is
 * comma-separated names with `*`/`?` wildcards and `!` negation, or one
 * hashed name `|1|salt|hmac` (HMAC-SHA1 of the name keyed by the salt). A
 * host on a port other than 22 is known by the name `[host]:port`.
 */
import { createHmac } from "node:crypto";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  marker: "" | "@revoked" | "@cert-authority";
  patterns: string;
  keyType: string;
  /** The key blob, base64 as written. */
  key: string;
}

/** How a presented host key compares with known_hosts. */
export type HostKeyVerdict = "known" | "unknown" | "mismatch" | "revoked";

/** The default file: `$HOME/.ssh/known_hosts`. */
export function defaultKnownHostsPath(
  env: NodeJS.ProcessEnv = process.env,
): string {
  const home = env.HOME !== undefined && env.HOME !== "" ? env.HOME : homedir();
  return join(home, ".ssh", "known_hosts");
}

/** Parse known_hosts text; comments, blank and malformed lines are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry["marker"] = "";
    if (fields[0] === "@revoked" || fields[0] === "@cert-authority")
      marker = fields.shift() as KnownHostEntry["marker"];
    const [patterns, keyType, key] = fields;
    if (patterns === undefined || keyType === undefined || key === undefined)
      continue;
    out.push({ marker, patterns, keyType, key });
  }
  return out;
}

/** Read a known_hosts file; a missing file is an empty list. */
export async function loadKnownHosts(path: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(path, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** The name a host has in known_hosts: `host` on port 22, else `[host]:port`. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "i");
}

function hashedMatch(pattern: string, name: string): boolean {
  const [, kind, salt, hash] = pattern.split("|");
  if (kind !== "1" || salt === undefined || hash === undefined) return false;
  const mac = createHmac("sha1", Buffer.from(salt, "base64"))
    .update(name)
    .digest("base64");
  return mac === hash;
}

/** Whether a line's pattern list names `name`: some positive pattern matches and no negated one does. */
export function patternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith("|")) return hashedMatch(patterns, name);
  let matched = false;
  for (const p of patterns.split(",")) {
    const negated = p.startsWith("!");
    const glob = negated ? p.slice(1) : p;
    if (!globToRegExp(glob).test(name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** The key type written at the start of an SSH public key blob, e.g. `ssh-ed25519`. */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return "";
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString("latin1");
}

/**
 * Compare a presented key with the entries for `host:port`. A revoked key
 * wins; then an equal key is known; a different key of the same type is a
 * mismatch; anything else is unknown.
 */
export function verifyHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  blob: Buffer,
): HostKeyVerdict {
  const name = knownHostName(host, port);
  const presented = blob.toString("base64");
  const type = keyTypeOf(blob);
  const mine = entries.filter(
    (e) => e.marker !== "@cert-authority" && patternsMatch(e.patterns, name),
  );
  if (mine.some((e) => e.marker === "@revoked" && e.key === presented))
    return "revoked";
  const plain = mine.filter((e) => e.marker === "");
  if (plain.some((e) => e.key === presented)) return "known";
  if (plain.some((e) => e.keyType === type)) return "mismatch";
  return "unknown";
}

/** Key types known for `host:port`, in file order, so the handshake can prefer them. */
export function knownKeyTypes(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
): string[] {
  const name = knownHostName(host, port);
  const types = entries
    .filter((e) => e.marker === "" && patternsMatch(e.patterns, name))
    .map((e) => e.keyType);
  return [...new Set(types)];
}

/** Append a key for `host:port` (creating the directory, mode 0700), as `ssh` with StrictHostKeyChecking=accept-new does. */
export async function addKnownHost(
  path: string,
  host: string,
  port: number,
  blob: Buffer,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const text = await readFile(path, "utf8").catch(() => "");
  if (verifyHostKey(parseKnownHosts(text), host, port, blob) === "known")
    return; // learnt meanwhile by another connection
  const prefix = text.length > 0 && !text.endsWith("\n") ? "\n" : "";
  await appendFile(
    path,
    `${prefix}${knownHostName(host, port)} ${keyTypeOf(blob)} ${blob.toString("base64")}\n`,
    { mode: 0o644 },
  );
}
