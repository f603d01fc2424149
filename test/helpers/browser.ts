/**
 * Debian's Chromium, headless, driven by playwright-core (which never
 * downloads a browser of its own): a fresh profile per test, no network
 * beyond what the page asks for, closed after the test.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { chromium, type Page } from "playwright-core";
import { requireBinary, skipUnless } from "./daemon.js";

export const CHROMIUM = "/usr/bin/chromium";

/** Why a browser test must be skipped (see skipUnless), or undefined. */
export function skipWithoutChromium(): string | undefined {
  return skipUnless(CHROMIUM, "chromium");
}

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A page in a fresh headless Chromium, closed (with its profile removed) after the test. */
export async function openPage(t: TestContext): Promise<Page> {
  requireBinary(CHROMIUM, "chromium");
  const profile = await mkdtemp(join(tmpdir(), "move_it-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    timeout: 60_000,
  });
  t.after(async () => {
    await context.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
  });
  return context.pages()[0] ?? (await context.newPage());
}
