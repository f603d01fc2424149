/**
 * The status document as the table `move_it_status` prints, one row per
 * chain, like `sr3 status`.
 */
import type { ChainStatus, StatusDocument } from "./status-doc.js";

function ago(ms: number, now: number): string {
  if (ms <= 0) return "-";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  return s < 120
    ? `${s}s ago`
    : s < 7200
      ? `${Math.round(s / 60)}m ago`
      : `${Math.round(s / 3600)}h ago`;
}

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) [n, i] = [n / 1024, i + 1];
  return `${n < 10 && i > 0 ? n.toFixed(1) : Math.round(n)}${units[i]}`;
}

function row(c: ChainStatus, now: number): string[] {
  const up = c.providers.filter((p) => p.up).length;
  return [
    c.name,
    c.role,
    c.state,
    c.role === "client" ? `${up}/${c.providers.length}` : "-",
    c.lastFile?.uid ?? "-",
    ago(c.lastFile?.at ?? 0, now),
    c.filesPerMinute.toFixed(1),
    bytes(c.bytesPerMinute),
    String(c.pending),
    String(c.retrying),
    String(c.failed),
    String(c.late),
    String(c.missing),
  ];
}

const HEAD = [
  "CHAIN",
  "ROLE",
  "STATE",
  "PROVIDERS",
  "LAST FILE",
  "WHEN",
  "FILES/MIN",
  "BYTES/MIN",
  "PENDING",
  "RETRYING",
  "FAILED",
  "LATE",
  "MISSING",
];

/** Aligned columns, a header line first. */
export function formatStatus(doc: StatusDocument): string {
  const rows = [HEAD, ...doc.chains.map((c) => row(c, doc.now))];
  const widths = HEAD.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  "),
  );
  return `${doc.program} ${doc.version}, up ${Math.round(doc.uptimeSeconds)} s\n${lines.join("\n")}\n`;
}
