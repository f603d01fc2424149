/**
 * Log lines for stderr, written together: every line given in one turn of
 * the event loop goes out in one write at the turn's end. stderr to a file
 * or a pipe (systemd's journal) is written synchronously, one system call
 * per line; in a burst of files that was the largest single cost of a
 * daemon. What is queued is written when the process exits, however it
 * exits short of a SIGKILL.
 */
export class BatchedLines {
  private queued: string[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly out: { write(text: string): unknown }) {
    process.once("exit", () => this.flush());
  }

  /** The stream interface bunyan writes to. */
  write(line: string): boolean {
    this.queued.push(line);
    if (this.scheduled === undefined) {
      this.scheduled = setImmediate(() => this.flush());
      this.scheduled.unref();
    }
    return true;
  }

  /** Write everything queued now. */
  flush(): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.queued.length === 0) return;
    const text =
      this.queued.length === 1 ? this.queued[0]! : this.queued.join("");
    this.queued = [];
    this.out.write(text);
  }
}

let stderrLines: BatchedLines | undefined;
let stdoutLines: BatchedLines | undefined;

/** The process's one batched stderr. */
export function batchedStderr(): BatchedLines {
  stderrLines ??= new BatchedLines(process.stderr);
  return stderrLines;
}

/** The process's one batched stdout (log output `-c` may send there). */
export function batchedStdout(): BatchedLines {
  stdoutLines ??= new BatchedLines(process.stdout);
  return stdoutLines;
}
