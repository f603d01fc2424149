/**
 * Where a daemon keeps its state (deletion schedule, ledger): `--state-dir`;
 * else systemd's `$STATE_DIRECTORY` (set by `StateDirectory=`); else
 * `/var/lib/move_it/<config name>` when `/var/lib/move_it` exists and is
 * writable; else `.<config file name>.state` beside the config. Checked
 * writable at start, so a service user without rights fails then and not
 * at the first deletion.
 */
import { accessSync, constants, existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";

/** The system-wide base, used only when it already exists and is writable. */
export const SYSTEM_STATE_BASE = "/var/lib/move_it";

/** A chosen state directory and why it was chosen. */
export interface StateDirChoice {
  dir: string;
  /** `--state-dir`, `$STATE_DIRECTORY`, `/var/lib/move_it` or `beside the config`. */
  source: string;
}

/**
 * Pick the state directory for a config file (see the module comment); `env`
 * is `process.env`. A reader (`move_it_ledger`, run by an operator who may not
 * write `/var/lib/move_it`) takes `/var/lib/move_it/<config name>` when that
 * directory exists, so it finds what the daemon wrote there.
 */
export function chooseStateDir(
  explicit: string | undefined,
  configFile: string,
  env: NodeJS.ProcessEnv,
  systemBase = SYSTEM_STATE_BASE,
  purpose: "write" | "read" = "write",
): StateDirChoice {
  if (explicit !== undefined && explicit !== "")
    return { dir: resolve(explicit), source: "--state-dir" };
  // systemd gives a colon-separated list when StateDirectory= names several.
  const fromSystemd = env["STATE_DIRECTORY"]?.split(":")[0];
  if (fromSystemd !== undefined && fromSystemd !== "")
    return { dir: resolve(fromSystemd), source: "$STATE_DIRECTORY" };
  const system = join(systemBase, basename(configFile, extname(configFile)));
  if (purpose === "read" ? existsSync(system) : writable(systemBase))
    return { dir: system, source: systemBase };
  return {
    dir: join(dirname(resolve(configFile)), `.${basename(configFile)}.state`),
    source: "beside the config",
  };
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Create `dir` if needed and prove it writable; an Error saying what to do otherwise. */
export async function checkStateDir(choice: StateDirChoice): Promise<void> {
  const probe = join(choice.dir, `.write-test-${process.pid}`);
  try {
    await mkdir(choice.dir, { recursive: true });
    await writeFile(probe, "");
    await rm(probe, { force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new Error(
      `state directory ${choice.dir} (from ${choice.source}) is not writable (${code}): give a writable one with --state-dir or $STATE_DIRECTORY`,
    );
  }
}
