import { hostname, networkInterfaces, userInfo } from "node:os";
import { lookup } from "node:dns/promises";

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
    for (const ni of list ?? [])
      if (ni.family === "IPv4" && !ni.internal) return ni.address;
  }
  return hostname();
}

const thisHost = new Map<string, Promise<boolean>>();

/**
 * Whether `host` names this machine, as the reference client decides it:
 * its IPv4 address (resolved as `socket.gethostbyname` does) is one of this
 * machine's interface addresses. Unresolvable: false. Answers are kept for
 * the process's life (a few destination hosts per chain).
 */
export function isThisHost(host: string): Promise<boolean> {
  let known = thisHost.get(host);
  if (known === undefined) {
    known = lookup(host, { family: 4 }).then(
      ({ address }) =>
        Object.values(networkInterfaces()).some((list) =>
          (list ?? []).some(
            (ni) => ni.family === "IPv4" && ni.address === address,
          ),
        ),
      () => false,
    );
    if (thisHost.size < 256) thisHost.set(host, known);
  }
  return known;
}
