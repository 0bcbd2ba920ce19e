import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import tap, { type Test } from 'tap';
import { packageRoot } from '../../src/paths.js';
import { usingServers } from './services.js';

export const ARTIFACTS = path.join(packageRoot, 'test-artifacts');

let shared: Promise<Browser> | null = null;

/**
 * Debian's chromium, driven by playwright-core (no browser download). One browser serves the whole
 * test file (tap runs each file in its own process); the contexts a test opened close when it ends.
 */
export async function launchBrowser(t: Test): Promise<Browser> {
  shared ??= chromium
    .launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
    .then((browser) => {
      tap.teardown(() => browser.close());
      return browser;
    });
  const browser = await shared;
  t.teardown(async () => {
    for (const context of browser.contexts()) await context.close();
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return browser;
}

/** Where a test keeps a file for a person to look at; both setups run at once, so each has its own name. */
export const artifact = (name: string) => path.join(ARTIFACTS, name.replace(/(\.\w+)?$/, `-${usingServers ? 'servers' : 'embedded'}$1`));
