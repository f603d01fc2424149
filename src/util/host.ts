import { hostname, networkInterfaces, userInfo } from "node:os";

let cachedSender: string | undefined;

/** `user@host` of this process, as posttroll puts in every message's sender field. */
export function localSender(): string {
  if (cachedSender === undefined) {
    let user = "unknown";
    try {
      user = userInfo().username;
    } catch {
      // No passwd entry (containers running as a bare uid): keep "unknown".
    }
    cachedSender = `${user}@${hostname()}`;
  }
  return cachedSender;
}

/** This host's name, as Python's `socket.gethostname()`. */
export function localHostname(): string {
  return hostname();
}

/**
 * This host's address for `request_address` when none is configured: the
 * first non-loopback IPv4 address, else the host name (the reference uses
 * the address of its outgoing interface).
 */
export function localAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const ni of list ?? []) if (ni.family === "IPv4" && !ni.internal) return ni.address;
  }
  return hostname();
}
