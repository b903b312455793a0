// Shared helpers for the end-to-end tests: a static server for Trunk's dist/ on 127.0.0.1 and
// Debian's chromium driven by playwright-core (never a downloaded browser).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { chromium } from 'playwright-core';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm',
  '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml', '.json': 'application/json',
};

/** Serves `dir` on 127.0.0.1 at a free port; resolves to { url, close }. */
export function serveDist(dir) {
  const root = path.resolve(dir);
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = path.join(root, urlPath === '/' ? 'index.html' : urlPath);
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      file = path.join(root, 'index.html');
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

/** Launches Debian's chromium headless with the flags this machine needs. */
export async function launchBrowser() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkspark-chromium-'));
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  return context;
}

/** Records console errors and uncaught page errors. */
export function watchErrors(page) {
  const errors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  return errors;
}

export const server = (page, sid) => page.locator(`[data-kind="zk-server"][data-node="zk${sid}"]`);

/** The ids of the servers currently in `state`. */
export async function idsIn(page, state) {
  return page.$$eval(`[data-kind="zk-server"][data-state="${state}"]`, (els) => els.map((e) => e.dataset.node));
}

/** Waits until exactly one server leads (and, if given, it is not `notNode`); returns its id. */
export async function waitForSingleLeader(page, { notNode = null, timeout = 60_000 } = {}) {
  const handle = await page.waitForFunction((notNode) => {
    const leaders = [...document.querySelectorAll('[data-kind="zk-server"][data-state="leading"]')];
    if (leaders.length !== 1) return null;
    const id = leaders[0].dataset.node;
    return id !== notNode ? id : null;
  }, notNode, { timeout, polling: 100 });
  return handle.jsonValue();
}

/** Waits until exactly `n` servers follow (each survivor decides after its own finalizeWait). */
export async function waitForFollowers(page, n, timeout = 10_000) {
  await page.waitForFunction((n) => document.querySelectorAll('[data-kind="zk-server"][data-state="following"]').length === n,
    n, { timeout, polling: 100 });
}

/** Waits until `n` followers are synced with the leader of `epoch` (epoch column "e / e"). */
export async function waitForSynced(page, n, epoch, timeout = 10_000) {
  await page.waitForFunction(([n, want]) => {
    const followers = [...document.querySelectorAll('[data-kind="zk-server"][data-state="following"]')];
    return followers.length === n
      && followers.every((f) => f.querySelector('[data-field="epoch"]')?.textContent === want);
  }, [n, `${epoch} / ${epoch}`], { timeout, polling: 100 });
}

/** Runs `body(page)` on a fresh page; on failure keeps a screenshot named after the test. */
export async function onPage(browser, name, body) {
  const page = await browser.newPage();
  try {
    await body(page);
  } catch (err) {
    const file = `tests/e2e/artifacts/FAILED-${name.replace(/[^a-z0-9]+/gi, '-')}.png`;
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    err.message += `\n(screenshot: ${file})`;
    throw err;
  } finally {
    await page.close();
  }
}

/** Where screenshots go. */
export const ARTIFACTS = 'tests/e2e/artifacts';

/**
 * One test file's browser and server: the Trunk build in $ZKSPARK_DIST (target/e2e-dist)
 * served on 127.0.0.1 and Debian's chromium, started before the file's tests and stopped
 * after them. `pageTest(name, body)` runs `body(page)` on a fresh page (screenshotted if it
 * fails); `url()` is the page's address.
 */
export function pageSuite() {
  const dist = process.env.ZKSPARK_DIST ?? 'target/e2e-dist';
  let site;
  let browser;
  before(async () => {
    assert.ok(fs.existsSync(path.join(dist, 'index.html')), `${dist}/index.html missing: build with trunk first`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    site = await serveDist(dist);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });
  return {
    pageTest: (name, body) => test(name, () => onPage(browser, name, body)),
    url: () => site.url,
  };
}
