/**
 * posttroll's settings, read where posttroll (donfig) reads them, lowest
 * priority first: YAML files in `$POSTTROLL_ROOT_CONFIG` (default
 * `/etc/posttroll`), `~/.config/posttroll`, then `$POSTTROLL_CONFIG` (a file
 * or a directory), then `POSTTROLL_*` environment variables (lower-cased,
 * `POSTTROLL_BACKEND=secure_zmq` → `backend: secure_zmq`). Keys are compared
 * with `-` and `_` alike, as donfig does.
 *
 * Used: `backend`, `server_secret_key_file`, `server_public_key_file`,
 * `client_secret_key_file`, `clients_public_keys_directory`, and our own
 * `move_it_secure_requests` (CURVE on the request sockets too, for links
 * between move_it nodes; trollmoves' request sockets are plaintext).
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { parseCertificate } from "../config/curve-keys.js";
import { pythonBool } from "../config/fields.js";
import { ConfigError } from "../errors.js";
import type { Logger } from "../log.js";
import {
  configureSecurity,
  type TransportSecurity,
} from "../transport/security.js";

type Settings = Record<string, unknown>;

const canonical = (key: string): string => key.toLowerCase().replace(/-/g, "_");

async function yamlFilesOf(path: string): Promise<string[]> {
  const st = await stat(path).catch(() => undefined);
  if (st === undefined) return [];
  if (st.isFile()) return [path];
  if (!st.isDirectory()) return [];
  const names = (await readdir(path))
    .filter((n) => /\.(ya?ml|json)$/.test(n))
    .sort();
  return names.map((n) => join(path, n));
}

async function readYaml(file: string): Promise<Settings> {
  const text = await readFile(file, "utf8");
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(
      `not valid YAML: ${(err as Error).message.split("\n")[0]}`,
      { file },
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc))
    throw new ConfigError("a posttroll config must be a mapping of settings", {
      file,
    });
  const out: Settings = {};
  for (const [k, v] of Object.entries(doc as Settings)) out[canonical(k)] = v;
  return out;
}

/** The merged posttroll settings. */
export async function loadPosttrollSettings(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ settings: Settings; sources: string[] }> {
  const dirs = [
    env["POSTTROLL_ROOT_CONFIG"] ?? "/etc/posttroll",
    join(homedir(), ".config", "posttroll"),
  ];
  if (env["POSTTROLL_CONFIG"] !== undefined && env["POSTTROLL_CONFIG"] !== "")
    dirs.push(env["POSTTROLL_CONFIG"]);
  const settings: Settings = {};
  const sources: string[] = [];
  for (const dir of dirs) {
    for (const file of await yamlFilesOf(dir)) {
      Object.assign(settings, await readYaml(file));
      sources.push(file);
    }
  }
  for (const [name, value] of Object.entries(env)) {
    if (
      !name.startsWith("POSTTROLL_") ||
      value === undefined ||
      ["POSTTROLL_CONFIG", "POSTTROLL_ROOT_CONFIG"].includes(name)
    )
      continue;
    settings[canonical(name.slice("POSTTROLL_".length))] = value;
    sources.push(name);
  }
  return { settings, sources };
}

function text(settings: Settings, key: string): string | undefined {
  const v = settings[key];
  return v === undefined || v === null ? undefined : String(v);
}

async function certificate(
  file: string,
  key: string,
  needSecret: boolean,
): Promise<{ publicKey: string; secretKey: string | undefined }> {
  let body: string;
  try {
    body = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(
      `cannot read the key file: ${(err as Error).message}`,
      { file, option: key },
    );
  }
  return parseCertificate(body, file, needSecret);
}

/** The transport security the settings ask for; key files read and checked. */
export async function securityFromSettings(
  settings: Settings,
): Promise<TransportSecurity> {
  const backend = text(settings, "backend") ?? "unsecure_zmq";
  if (backend !== "unsecure_zmq" && backend !== "secure_zmq") {
    throw new ConfigError(
      "posttroll backend must be unsecure_zmq or secure_zmq",
      { option: "backend", value: backend },
    );
  }
  const flag = text(settings, "move_it_secure_requests") ?? "";
  const secureRequests = flag === "" ? false : pythonBool(flag);
  if (secureRequests === undefined)
    throw new ConfigError(
      "not a boolean (use true/false, yes/no, on/off or 1/0)",
      { option: "move_it_secure_requests", value: flag },
    );
  if (backend === "unsecure_zmq") return { backend, secureRequests };
  const need = (key: string): string => {
    const v = text(settings, key);
    if (v === undefined)
      throw new ConfigError(
        "backend secure_zmq needs this setting (posttroll config file or POSTTROLL_" +
          key.toUpperCase() +
          ")",
        { option: key },
      );
    return v;
  };
  const serverSecret = await certificate(
    need("server_secret_key_file"),
    "server_secret_key_file",
    true,
  );
  const clientSecret = await certificate(
    need("client_secret_key_file"),
    "client_secret_key_file",
    true,
  );
  const serverPublic = await certificate(
    need("server_public_key_file"),
    "server_public_key_file",
    false,
  );
  const dir = need("clients_public_keys_directory");
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".key")).sort();
  } catch (err) {
    throw new ConfigError(
      `cannot read the directory: ${(err as Error).message}`,
      { file: dir, option: "clients_public_keys_directory" },
    );
  }
  const allowedClientKeys: string[] = [];
  for (const n of names)
    allowedClientKeys.push(
      (await certificate(join(dir, n), "clients_public_keys_directory", false))
        .publicKey,
    );
  return {
    backend,
    server: {
      publicKey: serverSecret.publicKey,
      secretKey: serverSecret.secretKey!,
    },
    client: {
      publicKey: clientSecret.publicKey,
      secretKey: clientSecret.secretKey!,
    },
    serverPublicKey: serverPublic.publicKey,
    allowedClientKeys,
    secureRequests,
  };
}

/** Read posttroll's settings and apply them to every socket this process opens. */
export async function applyPosttrollSettings(
  log: Logger,
): Promise<TransportSecurity> {
  const { settings, sources } = await loadPosttrollSettings();
  const security = await securityFromSettings(settings);
  configureSecurity(security, log);
  if (security.backend === "secure_zmq") {
    log.info(
      {
        sources,
        allowedClients: security.allowedClientKeys?.length,
        secureRequests: security.secureRequests === true,
      },
      "posttroll secure_zmq: CURVE on publishers and subscribers",
    );
  }
  return security;
}
