/**
 * `~/.netrc` credentials for FTP destinations without a login in the URL,
 * as Python's `netrc` module reads them: `machine NAME`, `default`,
 * `login`, `password`, `account`, `macdef` (skipped up to the next blank
 * line) and `#` comments. A later entry for the same machine replaces an
 * earlier one, and `default` answers for any machine not listed.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

/** The credentials of one `machine` (or `default`) entry. */
export interface NetrcEntry {
  login: string | undefined;
  password: string | undefined;
  account: string | undefined;
}

/** A parsed netrc file. */
export interface Netrc {
  machines: Map<string, NetrcEntry>;
  default: NetrcEntry | undefined;
}

/** `$HOME/.netrc` (the HOME variable first, as Python does), else the account's home. */
export function netrcPath(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME !== undefined && env.HOME !== "" ? env.HOME : homedir();
  return join(home, ".netrc");
}

/** Stands for a blank line, which ends a `macdef` body. */
const BLANK_LINE = "\u0000";

/** Split netrc text into tokens; double quotes group, backslash escapes, a token starting with `#` ends the line. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const re = /"((?:[^"\\]|\\.)*)"|((?:[^\s"\\]|\\.)+)/g;
    for (let m = re.exec(line); m !== null; m = re.exec(line)) {
      const raw = m[1] ?? m[2] ?? "";
      if (m[2] !== undefined && raw.startsWith("#")) break;
      tokens.push(raw.replace(/\\(.)/g, "$1"));
    }
    if (line.trim() === "") tokens.push(BLANK_LINE);
  }
  return tokens;
}

/** Parse netrc text. Unknown words are ignored. */
export function parseNetrc(text: string): Netrc {
  const tokens = tokenize(text);
  const out: Netrc = { machines: new Map(), default: undefined };
  let current: NetrcEntry | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (tok === BLANK_LINE) continue;
    if (tok === "machine" || tok === "default") {
      current = { login: undefined, password: undefined, account: undefined };
      if (tok === "default") out.default = current;
      else out.machines.set(tokens[++i] ?? "", current);
    } else if (tok === "macdef") {
      i++; // the macro name; its body runs to the next blank line
      while (i + 1 < tokens.length && tokens[i + 1] !== BLANK_LINE) i++;
    } else if (
      current !== undefined &&
      (tok === "login" || tok === "password" || tok === "account")
    ) {
      current[tok] = tokens[++i];
    }
  }
  return out;
}

/** The entry for `host` (else `default`), or undefined. */
export function netrcLookup(
  netrc: Netrc,
  host: string,
): NetrcEntry | undefined {
  return netrc.machines.get(host) ?? netrc.default;
}

/** Credentials for `host` from the netrc file; undefined when there is no file or no entry. */
export async function netrcCredentials(
  host: string,
  path: string = netrcPath(),
): Promise<NetrcEntry | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return netrcLookup(parseNetrc(text), host);
}
