/**
 * Every problem of a config file at once, for `--check` and for a start that
 * lists all of them: each section is read on its own (one bad section does
 * not hide the next), bad values are collected rather than thrown, and
 * options nobody asked for are reported with the closest known name.
 */

import { ConfigError } from "../errors.js";
import { SectionReader } from "./fields.js";
import type { RawSection } from "./ini.js";

/** Something a config file does that is allowed but probably not meant. */
export interface ConfigWarning {
  readonly file: string;
  readonly section: string;
  /** The option it is about (several for `rewrites`). */
  readonly options: readonly string[];
  /** `unknown`: an option no reader asked for (ignored); `rewrites`: client options taken as metadata rewrites. */
  readonly kind: "unknown" | "rewrites";
  /** One line for an operator: names file, section, option and, when close, the option probably meant. */
  readonly message: string;
}

/** What reading found besides the chains. */
export interface Problems {
  readonly errors: ConfigError[];
  readonly warnings: ConfigWarning[];
}

/** Run a whole-file check, collecting its ConfigError. */
export function collect(problems: Problems, check: () => void): void {
  try {
    check();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.errors.push(err);
  }
}

/** How one section's leftovers are judged: unknown options are warnings, or (client) metadata rewrites. */
export type Leftovers = "warn" | "rewrites";

/**
 * Read each section with `read`; collect its errors (thrown or soft) and
 * judge the options it never asked for. Chains of bad sections are left out.
 */
export function readSections<C>(
  sections: readonly RawSection[],
  file: string,
  problems: Problems,
  read: (section: SectionReader) => C,
  leftovers: Leftovers,
  known: readonly string[],
): C[] {
  if (sections.length === 0)
    problems.errors.push(
      new ConfigError("no [section] in the file: nothing to run", { file }),
    );
  const chains: C[] = [];
  for (const raw of sections) {
    const section = new SectionReader(file, raw);
    let chain: C | undefined;
    try {
      chain = read(section);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      section.problems.push(err);
    }
    problems.errors.push(...section.problems);
    // A thrown error stops the reading half-way: only then are unasked options not known to be unknown.
    if (chain === undefined) continue;
    judgeLeftovers(section, problems, leftovers, known);
    if (section.problems.length === 0) chains.push(chain);
  }
  return chains;
}

function judgeLeftovers(
  section: SectionReader,
  problems: Problems,
  leftovers: Leftovers,
  known: readonly string[],
): void {
  const names = [...new Set([...known, ...section.asked])];
  const left = [...section.options.keys()].filter(
    (key) =>
      !section.asked.has(key) && !key.startsWith("connection_parameters__"),
  );
  const where = `file ${section.file}, section [${section.name}]`;
  if (leftovers === "warn") {
    for (const option of left) {
      const near = closest(option, names);
      const hint =
        near === undefined ? "ignored" : `ignored (did you mean ${near}?)`;
      problems.warnings.push({
        file: section.file,
        section: section.name,
        options: [option],
        kind: "unknown",
        message: `${where}, option ${option}: unknown option, ${hint}`,
      });
    }
    return;
  }
  if (left.length === 0) return;
  const described = left.map((option) => {
    const near = closest(option, names);
    return near === undefined ? option : `${option} (did you mean ${near}?)`;
  });
  problems.warnings.push({
    file: section.file,
    section: section.name,
    options: left,
    kind: "rewrites",
    message: `${where}: options taken as metadata rewrites, as Python trollmoves does: ${described.join(", ")}`,
  });
}

/** The known name nearest to `word` by edit distance, if near enough to be a likely typo. */
export function closest(
  word: string,
  known: readonly string[],
): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  const allowed =
    word.length <= 4 ? 1 : Math.max(2, Math.floor(word.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** Damerau-Levenshtein (optimal string alignment): a swapped pair of letters counts once. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array<number>(b.length).fill(0),
  ]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(
        rows[i - 1]![j]! + 1,
        rows[i]![j - 1]! + 1,
        rows[i - 1]![j - 1]! + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
