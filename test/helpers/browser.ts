import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { Test } from 'tap';
import { packageRoot } from '../../src/paths.js';

export const ARTIFACTS = path.join(packageRoot, 'test-artifacts');

/** Debian's chromium, driven by playwright-core (no browser download), closed when the test ends. */
export async function launchBrowser(t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  t.teardown(() => browser.close());
  mkdirSync(ARTIFACTS, { recursive: true });
  return browser;
}

export const artifact = (name: string) => path.join(ARTIFACTS, name);
