/**
 * Opening SSH/SFTP sessions for the scp and sftp movers (ssh2 through
 * ssh2-sftp-client): key authentication (the configured key, else the
 * user's default keys, then the agent, then a password from the URL), the
 * host key checked against known_hosts, and connection failures turned into
 * short messages.
 */
import { readFile } from "node:fs/promises";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import ssh2 from "ssh2";
import type { AuthMethod, ConnectConfig, HostVerifier } from "ssh2";
import SftpClient from "ssh2-sftp-client";
import { ConnectFailure, errorMessage } from "../errors.js";
import type { NetworkParameters } from "../config/connection-parameters.js";
import type { Logger } from "../log.js";
import type { ParsedUrl } from "../util/url.js";
import type { RemoteConnection } from "./network-mover.js";
import {
  addKnownHost,
  defaultKnownHostsPath,
  keyTypeOf,
  knownKeyTypes,
  loadKnownHosts,
  verifyHostKey,
  type HostKeyVerdict,
  type KnownHostEntry,
} from "./known-hosts.js";
import { abortable } from "../util/abort.js";
import { hostPort, socketFailure, type Endpoint } from "./endpoints.js";

/** Who to log in as and how, from the URL and the connection parameters. */
export interface SshOptions {
  username: string;
  password: string | undefined;
  /** `ssh_key_filename` / `ssh_private_key_file`; undefined: the default keys. */
  keyFile: string | undefined;
  knownHosts: string;
  acceptNewHostKeys: boolean;
  timeoutMs: number;
}

const DEFAULT_KEYS = ["id_ed25519", "id_ecdsa", "id_rsa"];
const HOST_KEY_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

function home(): string {
  const h = process.env.HOME;
  return h !== undefined && h !== "" ? h : homedir();
}

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "root";
  }
}

/** The SSH options for a destination. */
export function sshOptions(
  dest: ParsedUrl,
  params: NetworkParameters,
  timeoutMs: number,
): SshOptions {
  return {
    username: dest.username ?? localUser(),
    password: dest.password,
    keyFile: params.sshKeyFilename,
    knownHosts: params.knownHosts ?? defaultKnownHostsPath(),
    acceptNewHostKeys: params.acceptNewHostKeys,
    timeoutMs,
  };
}

/** An open SFTP session, as the connection cache holds it. */
export class SshConnection implements RemoteConnection {
  private dead = false;
  private homeDir: string | undefined;
  /** Whether the server has posix-rename@openssh.com; undefined until tried. */
  posixRename: boolean | undefined;

  constructor(
    readonly sftp: SftpClient,
    readonly endpoint: Endpoint,
  ) {}

  get alive(): boolean {
    return !this.dead;
  }

  /** Called when the session reports an error, end or close. */
  markDead(): void {
    this.dead = true;
  }

  async check(idleMs: number): Promise<boolean> {
    if (this.dead) return false;
    if (idleMs < 1000) return true;
    await this.sftp.realPath(".");
    return !this.dead;
  }

  /** The login directory (absolute), asked once. */
  async home(): Promise<string> {
    this.homeDir ??= await this.sftp.realPath(".");
    return this.homeDir;
  }

  /** Drop the socket at once (cancellation). */
  destroy(): void {
    this.dead = true;
    rawClient(this.sftp).destroy();
  }

  async close(): Promise<void> {
    this.dead = true;
    const timer = setTimeout(() => rawClient(this.sftp).destroy(), 5000);
    try {
      await this.sftp.end();
    } catch {
      // Closing anyway.
    } finally {
      clearTimeout(timer);
      rawClient(this.sftp).destroy();
    }
  }
}

/** ssh2-sftp-client keeps its ssh2 Client in `client` (not in its typings). */
function rawClient(sftp: SftpClient): { destroy(): void } {
  return (sftp as unknown as { client: { destroy(): void } }).client;
}

async function readKey(path: string): Promise<Buffer> {
  const data = await readFile(path);
  const parsed = ssh2.utils.parseKey(data);
  if (parsed instanceof Error) throw parsed;
  return data;
}

/** Private keys to offer: the configured one (which must be usable), else whichever default keys exist and parse. */
async function privateKeys(opts: SshOptions, log: Logger): Promise<Buffer[]> {
  if (opts.keyFile !== undefined) {
    try {
      return [await readKey(opts.keyFile)];
    } catch (err) {
      throw new ConnectFailure(
        `cannot use ssh key ${opts.keyFile}: ${errorMessage(err)}`,
        false,
        { cause: err },
      );
    }
  }
  const keys: Buffer[] = [];
  for (const name of DEFAULT_KEYS) {
    const path = join(home(), ".ssh", name);
    try {
      keys.push(await readKey(path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT")
        log.debug({ key: path, err }, "ssh key skipped");
    }
  }
  return keys;
}

async function authMethods(
  opts: SshOptions,
  log: Logger,
): Promise<AuthMethod[]> {
  const username = opts.username;
  const methods: AuthMethod[] = (await privateKeys(opts, log)).map(
    (key) => ({ type: "publickey", username, key }) as AuthMethod,
  );
  const agent = process.env.SSH_AUTH_SOCK;
  if (agent !== undefined && agent !== "")
    methods.push({ type: "agent", username, agent } as AuthMethod);
  if (opts.password !== undefined)
    methods.push({
      type: "password",
      username,
      password: opts.password,
    } as AuthMethod);
  if (methods.length === 0) methods.push({ type: "none", username });
  return methods;
}

interface HostCheck {
  verdict: HostKeyVerdict | undefined;
  saveError: unknown;
}

function hostVerifier(
  ep: Endpoint,
  opts: SshOptions,
  check: HostCheck,
  log: Logger,
  entries: readonly KnownHostEntry[],
): HostVerifier {
  return (key: Buffer, verify: (valid: boolean) => void): void => {
    check.verdict = verifyHostKey(entries, ep.host, ep.port, key);
    if (check.verdict !== "unknown" || !opts.acceptNewHostKeys) {
      verify(check.verdict === "known");
      return;
    }
    addKnownHost(opts.knownHosts, ep.host, ep.port, key).then(
      () => {
        check.verdict = "known";
        log.warn(
          {
            host: hostPort(ep),
            keyType: keyTypeOf(key),
            knownHosts: opts.knownHosts,
          },
          "new host key added to known_hosts",
        );
        verify(true);
      },
      (err: unknown) => {
        check.saveError = err;
        verify(false);
      },
    );
  };
}

function hostKeyFailure(
  check: HostCheck,
  ep: Endpoint,
  opts: SshOptions,
): ConnectFailure | undefined {
  const where = hostPort(ep);
  if (check.saveError !== undefined)
    return new ConnectFailure(
      `cannot add host key for ${where} to ${opts.knownHosts}: ${errorMessage(check.saveError)}`,
      false,
    );
  switch (check.verdict) {
    case "unknown":
      return new ConnectFailure(
        `unknown host key for ${where} (add it to known_hosts or set connection_parameters__accept_new_host_keys = true)`,
        false,
      );
    case "mismatch":
      return new ConnectFailure(
        `host key mismatch for ${where} (known_hosts has another key: possible man-in-the-middle)`,
        false,
      );
    case "revoked":
      return new ConnectFailure(`revoked host key for ${where}`, false);
    default:
      return undefined;
  }
}

/** The short failure for an error raised while connecting. */
function connectFailure(
  raw: unknown,
  check: HostCheck,
  ep: Endpoint,
  opts: SshOptions,
): ConnectFailure {
  const hostKey =
    check.verdict === "known" ? undefined : hostKeyFailure(check, ep, opts);
  if (hostKey !== undefined) return hostKey;
  const level = (raw as { level?: string } | undefined)?.level;
  const where = hostPort(ep);
  if (level === "client-authentication")
    return new ConnectFailure(
      `authentication failed for ${opts.username}@${where}`,
      false,
      { cause: raw },
    );
  if (level === "client-timeout")
    return new ConnectFailure(`timeout connecting to ${where}`, true, {
      cause: raw,
    });
  return (
    socketFailure(raw, ep) ??
    new ConnectFailure(
      `cannot connect to ${where}: ${errorMessage(raw)}`,
      false,
      { cause: raw },
    )
  );
}

function connectConfig(
  ep: Endpoint,
  opts: SshOptions,
  methods: AuthMethod[],
  verifier: HostVerifier,
  knownTypes: string[],
): ConnectConfig {
  const preferred = knownTypes
    .flatMap((t) =>
      t === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [t],
    )
    .filter((t) => HOST_KEY_ALGORITHMS.includes(t));
  const config: ConnectConfig = {
    host: ep.host,
    port: ep.port,
    username: opts.username,
    readyTimeout: opts.timeoutMs,
    authHandler: methods,
    hostVerifier: verifier,
  };
  if (preferred.length > 0)
    config.algorithms = {
      serverHostKey: [
        ...new Set([...preferred, ...HOST_KEY_ALGORITHMS]),
      ] as NonNullable<ConnectConfig["algorithms"]>["serverHostKey"],
    };
  return config;
}

/** Open an SFTP session to `ep`. Throws ConnectFailure (or the signal's reason). */
export async function openSsh(
  ep: Endpoint,
  opts: SshOptions,
  signal: AbortSignal,
  log: Logger,
): Promise<SshConnection> {
  const entries = await loadKnownHosts(opts.knownHosts);
  const methods = await authMethods(opts, log);
  const check: HostCheck = { verdict: undefined, saveError: undefined };
  let conn: SshConnection | undefined;
  // Our own listeners on the ssh2 client: the library's callbacks skip events it considers handled.
  const sftp = new SftpClient("move_it", {
    error: () => undefined,
    end: () => undefined,
    close: () => undefined,
  });
  let raw: unknown;
  const onGone = (): void => conn?.markDead();
  sftp.on("end", onGone);
  sftp.on("close", onGone);
  sftp.on("error", (err: unknown) => {
    raw ??= err;
    onGone();
  });
  const config = connectConfig(
    ep,
    opts,
    methods,
    hostVerifier(ep, opts, check, log, entries),
    knownKeyTypes(entries, ep.host, ep.port),
  );
  try {
    await abortable(
      signal,
      () => sftp.connect(config),
      () => rawClient(sftp).destroy(),
    );
  } catch (err) {
    rawClient(sftp).destroy();
    if (signal.aborted) throw signal.reason;
    throw connectFailure(raw ?? err, check, ep, opts);
  }
  conn = new SshConnection(sftp, ep);
  return conn;
}
