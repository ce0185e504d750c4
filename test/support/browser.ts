/**
 * A real headless browser for the console tests: Debian's chromium (`apt-get install chromium`),
 * driven by playwright-core, which ships no browser of its own. The flags are the usual ones for a
 * container: no sandbox (often no user namespaces there), no GPU, and /tmp instead of a small /dev/shm.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Where the console tests leave their screenshots (ignored by git). */
export const CONSOLE_ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/console/', import.meta.url));

export async function launchChromium(): Promise<Browser> {
  await mkdir(CONSOLE_ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** An iPhone-sized viewport: the console must work in one column here, without sideways scrolling. */
export const PHONE_VIEWPORT = { width: 375, height: 812 };
export const DESKTOP_VIEWPORT = { width: 1280, height: 900 };
