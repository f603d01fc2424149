/**
 * CURVE security as posttroll's `secure_zmq` backend applies it, for the
 * whole process (set once by the command at start, before any socket):
 *
 * - sockets that bind (publishers; request sockets only with
 *   `secureRequests`) are CURVE servers with the server key pair, and only
 *   clients whose public key is in the allowed list (posttroll's
 *   `clients_public_keys_directory`) get in: a ZAP handler on
 *   `inproc://zeromq.zap.01` refuses every other key;
 * - sockets that connect (subscribers; request sockets only with
 *   `secureRequests`) are CURVE clients with the client key pair and the
 *   server's public key.
 *
 * trollmoves' request sockets are plain ZeroMQ whatever the backend, so ours
 * are plaintext unless `secureRequests` (our option, for links between
 * move_it nodes). Nameserver traffic is plaintext as posttroll's
 * registrations are.
 */
import * as zmq from "zeromq";
import type { Logger } from "../log.js";
import { z85Encode } from "../util/z85.js";

export interface CurveKeyPair {
  /** Z85, 40 characters. */
  publicKey: string;
  secretKey: string;
}

export interface TransportSecurity {
  backend: "unsecure_zmq" | "secure_zmq";
  /** Key pair of binding sockets (posttroll's `server_secret_key_file`). */
  server?: CurveKeyPair | undefined;
  /** Key pair of connecting sockets (`client_secret_key_file`). */
  client?: CurveKeyPair | undefined;
  /** Public key of the servers we connect to (`server_public_key_file`). */
  serverPublicKey?: string | undefined;
  /** Client public keys let in (the `.key` files of `clients_public_keys_directory`). */
  allowedClientKeys?: readonly string[] | undefined;
  /** Secure the request sockets too (move_it to move_it only). */
  secureRequests?: boolean | undefined;
}

export type SocketRole = "pubsub" | "request";

let current: TransportSecurity = { backend: "unsecure_zmq" };
let zap: zmq.Reply | undefined;
let allowed = new Set<string>();
/** Connections refused by the ZAP handler (for tests and logs). */
export const zapStats = { allowed: 0, refused: 0 };

/** The posttroll backend name in use (advertised in nameserver registrations). */
export function securityBackend(): string {
  return current.backend;
}

/** Whether sockets of this role use CURVE. */
export function isSecure(role: SocketRole): boolean {
  return (
    current.backend === "secure_zmq" &&
    (role === "pubsub" || current.secureRequests === true)
  );
}

/**
 * Use these settings for every socket created from now on. With
 * `secure_zmq` the key material must be complete; the ZAP handler starts.
 */
export function configureSecurity(
  settings: TransportSecurity,
  log?: Logger,
): void {
  if (settings.backend === "secure_zmq") {
    const missing = [
      settings.server === undefined ? "server_secret_key_file" : "",
      settings.client === undefined ? "client_secret_key_file" : "",
      settings.serverPublicKey === undefined ? "server_public_key_file" : "",
      settings.allowedClientKeys === undefined
        ? "clients_public_keys_directory"
        : "",
    ].filter(Boolean);
    if (missing.length > 0)
      throw new Error(
        `backend secure_zmq needs ${missing.join(", ")} (posttroll config or POSTTROLL_* environment)`,
      );
  }
  current = settings;
  allowed = new Set(settings.allowedClientKeys ?? []);
  if (settings.backend === "secure_zmq" && zap === undefined) startZap(log);
}

/** Set CURVE server options on a socket that will bind, if its role is secured. */
export function secureBinding(sock: zmq.Socket, role: SocketRole): void {
  if (!isSecure(role) || current.server === undefined) return;
  sock.curveServer = true;
  sock.curvePublicKey = current.server.publicKey;
  sock.curveSecretKey = current.server.secretKey;
  sock.zapDomain = "global";
}

/** Set CURVE client options on a socket that will connect, if its role is secured. */
export function secureConnecting(sock: zmq.Socket, role: SocketRole): void {
  if (
    !isSecure(role) ||
    current.client === undefined ||
    current.serverPublicKey === undefined
  )
    return;
  sock.curvePublicKey = current.client.publicKey;
  sock.curveSecretKey = current.client.secretKey;
  sock.curveServerKey = current.serverPublicKey;
}

/**
 * The ZAP handler (RFC 27): libzmq asks it about every CURVE handshake on
 * a binding socket; a key not in the allowed list gets 400.
 */
function startZap(log: Logger | undefined): void {
  const sock = new zmq.Reply({ linger: 0 });
  sock.bindSync("inproc://zeromq.zap.01");
  zap = sock;
  void (async () => {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await sock.receive();
      } catch {
        return;
      }
      const [version, requestId, , address, , mechanism, credential] = frames;
      let ok = false;
      let key = "";
      const mech = mechanism?.toString();
      if (mech === "CURVE" && credential?.length === 32) {
        key = z85Encode(credential);
        ok = allowed.has(key);
      } else if (mech === "NULL") {
        // A plaintext socket (request sockets stay plaintext by default): not ours to refuse.
        ok = true;
      }
      if (ok && mech === "CURVE") zapStats.allowed++;
      if (!ok) {
        zapStats.refused++;
        log?.warn(
          { peer: address?.toString(), mechanism: mechanism?.toString(), key },
          "CURVE client refused: its public key is not in clients_public_keys_directory",
        );
      }
      try {
        await sock.send([
          version ?? "1.0",
          requestId ?? "",
          ok ? "200" : "400",
          ok ? "OK" : "key not allowed",
          "",
          "",
        ]);
      } catch {
        return;
      }
    }
  })();
}
