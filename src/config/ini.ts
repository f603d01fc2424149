/**
 * Ini text → ordered raw sections, read the way Python's
 * `configparser.ConfigParser(interpolation=None)` reads it, because the
 * operators' files were written for the Python trollmoves.
 *
 * The `ini` npm package is deliberately not used here: it cuts values at an
 * inline `;` or `#` (`info = sensor=dummy;variant=ref` loses `variant`),
 * does not know `key: value` lines or indented continuation lines, turns
 * `false`/`true`/`null` into non-strings, strips quotes, nests sections
 * whose name holds a dot and reorders integer-like section names. Each of
 * those changes the meaning of a real trollmoves file.
 *
 * What is read, as configparser does by default:
 * - `[name]` headers (the name is case-sensitive; `[DEFAULT]` is special);
 * - `key = value` and `key: value` (the first `=` or `:` splits), the key
 *   lowercased, key and value trimmed;
 * - lines indented deeper than their option line continue its value
 *   (joined with "\n"; blank lines inside a value are kept);
 * - whole-line comments starting with `#` or `;` (also indented ones);
 *   there are no inline comments, a `#` or `;` after a value is part of it;
 * - no interpolation: `%` is an ordinary character;
 * - a repeated section, or a repeated option within a section, is an error
 *   (configparser's strict mode, its default).
 */

import { ConfigError } from "../errors.js";

/** One `[section]` of an ini file, with `[DEFAULT]` merged in. */
export interface RawSection {
  /** The name between the brackets, trimmed. */
  readonly name: string;
  /** 1-based line number of the `[name]` header. */
  readonly line: number;
  /**
   * Lowercased option name → trimmed value. Like Python's `items(section)`:
   * the `[DEFAULT]` options first, in their order, overridden in place by
   * the section's own, then the section's other options in file order.
   */
  readonly options: ReadonlyMap<string, string>;
}

/** The name of the section whose options every other section inherits. */
export const DEFAULT_SECTION = "DEFAULT";

interface Draft {
  readonly name: string;
  readonly line: number;
  readonly options: Map<string, string[]>;
}

interface ScanState {
  readonly file: string;
  readonly drafts: Draft[];
  readonly defaults: Draft;
  current: Draft | undefined;
  /** Value lines of the option being read, while continuation is possible. */
  open: string[] | undefined;
  indent: number;
}

// configparser's SECTCRE and OPTCRE, applied to the trimmed line.
const HEADER = /^\[(.+)\]/;
const OPTION = /^(.*?)\s*[=:]\s*(.*)$/;

/**
 * Parse ini `text` into its sections, in file order, `[DEFAULT]` merged into
 * each (and not returned itself). `file` only names the file in errors.
 * @throws ConfigError on a line that is none of header, option, comment,
 *   continuation or blank; on an option before the first header; on a
 *   repeated section or option.
 */
export function parseIni(text: string, file: string): RawSection[] {
  const state: ScanState = {
    file,
    drafts: [],
    defaults: { name: DEFAULT_SECTION, line: 0, options: new Map() },
    current: undefined,
    open: undefined,
    indent: 0,
  };
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
  lines.forEach((line, index) => scanLine(state, line, index + 1));
  const defaults = joinValues(state.defaults);
  return state.drafts.map((draft) => {
    const options = new Map(defaults);
    for (const [key, value] of joinValues(draft)) options.set(key, value);
    return { name: draft.name, line: draft.line, options };
  });
}

function scanLine(state: ScanState, line: string, lineNo: number): void {
  const value = line.trim();
  if (value.startsWith("#") || value.startsWith(";")) return;
  if (value === "") {
    // Kept in case a continuation line follows; trailing blanks are trimmed at the end.
    state.open?.push("");
    return;
  }
  const indent = line.search(/\S/);
  if (state.open !== undefined && indent > state.indent) {
    state.open.push(value);
    return;
  }
  state.indent = indent;
  const header = HEADER.exec(value);
  if (header !== null) {
    startSection(state, (header[1] ?? "").trim(), lineNo);
    return;
  }
  addOption(state, value, lineNo);
}

function startSection(state: ScanState, name: string, lineNo: number): void {
  const where = { file: state.file, section: name };
  state.open = undefined;
  if (name === "")
    throw new ConfigError(`line ${lineNo}: empty section name`, {
      file: state.file,
    });
  if (name === DEFAULT_SECTION) {
    state.current = state.defaults;
    return;
  }
  const earlier = state.drafts.find((draft) => draft.name === name);
  if (earlier !== undefined) {
    throw new ConfigError(
      `line ${lineNo}: section already defined on line ${earlier.line}`,
      where,
    );
  }
  state.current = { name, line: lineNo, options: new Map() };
  state.drafts.push(state.current);
}

function addOption(state: ScanState, value: string, lineNo: number): void {
  const { file, current } = state;
  if (current === undefined) {
    throw new ConfigError(
      `line ${lineNo}: option before the first [section] header`,
      { file, value },
    );
  }
  const option = OPTION.exec(value);
  const key = option?.[1]?.trimEnd().toLowerCase() ?? "";
  if (option === null || key === "") {
    throw new ConfigError(
      `line ${lineNo}: expected "option = value", a [section] header or a comment`,
      {
        file,
        section: current.name,
        value,
      },
    );
  }
  if (current.options.has(key)) {
    const where = { file, section: current.name, option: key };
    throw new ConfigError(
      `line ${lineNo}: option given twice in the section`,
      where,
    );
  }
  state.open = [option[2] ?? ""];
  current.options.set(key, state.open);
}

function joinValues(draft: Draft): Map<string, string> {
  const joined = new Map<string, string>();
  for (const [key, lines] of draft.options)
    joined.set(key, lines.join("\n").trimEnd());
  return joined;
}
