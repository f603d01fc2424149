import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repo's test/fixtures directory (tests run from dist/test/...). */
export const FIXTURES = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "test",
  "fixtures",
);

export function fixturePath(name: string): string {
  return join(FIXTURES, name);
}

export function readFixture(name: string): string {
  return readFileSync(fixturePath(name), "utf8");
}

export interface Capture {
  /** Section id, e.g. "A2" or "C1". */
  id: string;
  line: string;
}

/** Every `pytroll://` frame of captures.txt, tagged with its section id. */
export function captureFrames(): Capture[] {
  const out: Capture[] = [];
  let id = "";
  for (const line of readFixture("captures.txt").split("\n")) {
    const head = /^### ([A-D]\d+) /.exec(line);
    if (head?.[1] !== undefined) id = head[1];
    if (line.startsWith("pytroll://")) out.push({ id, line });
  }
  return out;
}

/** The frames of one capture section, in order. */
export function capture(id: string): string[] {
  return captureFrames()
    .filter((c) => c.id === id)
    .map((c) => c.line);
}
