/**
 * `--check`: read and validate the config, print what would run (chains,
 * ports, directories, destinations) and every problem found; exit 0 when the
 * config would start, 2 otherwise. Ports in use are warnings only: the
 * config's own daemon may be the one holding them.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import {
  checkConfig,
  type ClientChainConfig,
  type MirrorChainConfig,
  type Role,
  type ServerChainConfig,
} from "../config/index.js";
import { errorMessage } from "../errors.js";
import { VERSION } from "./args.js";
import { checkStateDir, type StateDirChoice } from "./state-dir.js";

/** What `--check` needs besides the file. */
export interface CheckInput {
  program: string;
  role: Role;
  file: string;
  host: string;
  /** Publish port (-p) for server and mirror. */
  port?: number | undefined;
  statusPort?: number | undefined;
  stateDir?: StateDirChoice | undefined;
  /** Where the report goes (stdout). */
  out: (line: string) => void;
}

interface Report {
  lines: string[];
  ports: Array<{ what: string; port: number }>;
  warnings: string[];
  errors: string[];
}

/** Run the check; returns the exit status (0 fine, 2 problems). */
export async function runCheck(input: CheckInput): Promise<number> {
  const report: Report = { lines: [], ports: [], warnings: [], errors: [] };
  const file = resolve(input.file);
  let text: string | undefined;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    report.errors.push(
      `cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`,
    );
  }
  if (text !== undefined) describe(report, input, text, file);
  if (input.stateDir !== undefined) {
    report.lines.push(
      `state directory ${input.stateDir.dir} (from ${input.stateDir.source})`,
    );
    await checkStateDir(input.stateDir).catch((err: unknown) =>
      report.errors.push(errorMessage(err)),
    );
  }
  if (input.statusPort !== undefined)
    report.ports.push({
      what: "status port (--status-port)",
      port: input.statusPort,
    });
  for (const { what, port } of report.ports) {
    if (port !== 0 && !(await portFree(input.host, port)))
      report.warnings.push(
        `${what} ${port} is in use now (fine only if this config's own daemon holds it)`,
      );
  }
  input.out(`${input.program} ${VERSION}: ${file}`);
  for (const line of report.lines) input.out(`  ${line}`);
  for (const w of report.warnings) input.out(`warning: ${w}`);
  for (const e of report.errors) input.out(`error: ${e}`);
  const verdict =
    report.errors.length === 0
      ? "config OK"
      : `config NOT OK: ${report.errors.length} error(s)`;
  input.out(`${verdict}, ${report.warnings.length} warning(s)`);
  return report.errors.length === 0 ? 0 : 2;
}

function describe(
  report: Report,
  input: CheckInput,
  text: string,
  file: string,
): void {
  const checked = checkConfig(text, input.role, file);
  report.errors.push(...checked.errors.map((e) => e.message));
  report.warnings.push(...checked.warnings.map((w) => w.message));
  if (input.role !== "client" && input.port !== undefined) {
    report.lines.push(`publish on tcp://${input.host}:${input.port}`);
    report.ports.push({ what: "publish port (-p)", port: input.port });
  }
  for (const chain of checked.chains as ReadonlyArray<
    ServerChainConfig | ClientChainConfig | MirrorChainConfig
  >) {
    if (chain.kind === "server") describeServer(report, chain);
    else if (chain.kind === "client") describeClient(report, chain);
    else {
      describeClient(report, chain.client, "fetch");
      describeServer(report, chain.server);
    }
  }
}

function describeServer(report: Report, c: ServerChainConfig): void {
  const bucket = /^s3:\/\//i.test(c.origin);
  const dir = dirname(c.origin.replace(/\{.*$/, "x"));
  const serve =
    c.requestPort === undefined
      ? "no request port (announce only)"
      : `requests on port ${c.requestPort}${c.requestAddress === undefined ? "" : `, advertised as ${c.requestAddress}:${c.requestPort}`}`;
  const l = c.listen;
  const heard =
    l === undefined
      ? undefined
      : [
          ...l.addresses,
          ...(l.nameserver === false
            ? []
            : [
                `the publishers of ${l.services.map((s) => s || "(every service)").join(", ")} at the nameserver ${l.nameserver}`,
              ]),
        ].join(" and ");
  const source =
    heard !== undefined
      ? `listen to ${l!.topics.join(", ")} from ${heard}`
      : bucket
        ? `poll the bucket ${c.origin} every ${c.watchdogTimeout} s`
        : `watch ${c.origin}`;
  report.lines.push(`[${c.name}] ${source} → announce on ${c.topic}; ${serve}`);
  const extra = [
    c.delete ? `delete ${c.removeDelay} s after serving` : undefined,
    c.compression === undefined ? undefined : `unpack ${c.compression}`,
    c.checksum === undefined ? undefined : `checksum ${c.checksum}`,
  ].filter(Boolean);
  if (extra.length > 0) report.lines.push(`[${c.name}] ${extra.join("; ")}`);
  if (l === undefined && !bucket && !existsSync(dir))
    report.warnings.push(
      `section [${c.name}], origin: directory ${dir} does not exist (yet)`,
    );
  if (c.requestPort !== undefined)
    report.ports.push({
      what: `section [${c.name}], request_port`,
      port: c.requestPort,
    });
}

function describeClient(
  report: Report,
  c: ClientChainConfig,
  verb = "deliver",
): void {
  const from = c.providers.map((p) => p.address + (p.topic ?? "")).join(", ");
  report.lines.push(
    `[${c.name}] listen to ${from} on topic ${c.topic === "" ? "(everything)" : c.topic} → ${verb} into ${redact(c.destination)}`,
  );
  if (c.kind === "client" && verb === "deliver") {
    report.lines.push(
      `[${c.name}] republish on ${c.publishPort === 0 ? "any free port" : `port ${c.publishPort}`}${c.compression === undefined ? "" : `; unpack ${c.compression}`}`,
    );
    if (c.publishPort !== 0)
      report.ports.push({
        what: `section [${c.name}], publish_port`,
        port: c.publishPort,
      });
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^/@]*)@/, (_, auth: string) =>
    auth.includes(":") ? `//${auth.split(":")[0]}:***@` : `//${auth}@`,
  );
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer();
    s.once("error", () => done(false));
    s.listen(port, host === "*" ? undefined : host, () =>
      s.close(() => done(true)),
    );
  });
}
