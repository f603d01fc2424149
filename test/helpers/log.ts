import { createLogger, type LogRecord, type Logger } from "../../src/log.js";

/** A real bunyan logger whose records land in `records` (pino-style sink). */
export function captureLogger(name = "test"): {
  log: Logger;
  records: LogRecord[];
} {
  const records: LogRecord[] = [];
  const log = createLogger({
    name,
    level: "trace",
    sink: (r) => records.push(r),
  });
  return { log, records };
}
