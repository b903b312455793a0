// End to end: ZooKeeper meets Spark on the page. The seed's counter as written fails with
// PySpark's PicklingError and a plain-words reason; the per-partition counter prints 100 with
// every increment a real session on the ensemble (the counter's znode in the tree); the idempotent
// counter prints 100 with an executor and the ZooKeeper leader killed while it runs, and the
// metrics tab shows each failure with its time to repair.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { pageSuite, ARTIFACTS, watchErrors } from './harness.mjs';

const { pageTest, url } = pageSuite();

const OUTPUT = '[data-testid="job-output"]';

async function openSpark(page) {
  await page.goto(url());
  // The ensemble elects a leader first (the ZooKeeper view is the landing page).
  await page.waitForSelector('[data-kind="zk-server"][data-state="leading"]', { timeout: 30_000 });
  await page.locator('[data-view="spark"]').click();
  for (const id of [1, 2]) {
    await page.waitForFunction((id) => document.querySelector(`[data-node="exec${id}"] [data-field="running"]`) !== null,
      id, { timeout: 30_000, polling: 100 });
  }
}

async function runPreset(page, stem) {
  await page.locator('[data-control="preset"]').selectOption(stem);
  await page.locator('[data-action="run-job"]').click();
}

async function waitForStatus(page, re, timeout = 90_000) {
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('[data-testid="job-status"]')?.textContent ?? ''),
    re, { timeout, polling: 100 });
}

pageTest('the seed program as written fails as on real PySpark, and the page says why', async (page) => {
  const errors = watchErrors(page);
  await openSpark(page);
  await runPreset(page, 'zk_counter_seed');
  await waitForStatus(page, '^failed');
  const out = await page.locator(OUTPUT).textContent();
  assert.match(out, /_pickle\.PicklingError: Could not serialize object: TypeError: cannot pickle '_thread\.lock' object/);
  assert.match(await page.locator('[data-testid="failure-hint"]').textContent(), /thread locks that cannot be pickled/);
  assert.match(await page.locator('[data-testid="preset-note"]').textContent(), /PicklingError/);
  await page.screenshot({ path: `${ARTIFACTS}/zk-1-seed.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

pageTest('a client per partition counts to 100 on the ensemble', async (page) => {
  const errors = watchErrors(page);
  await openSpark(page);
  await runPreset(page, 'zk_counter');
  await waitForStatus(page, '^finished');
  assert.equal(await page.locator(OUTPUT).textContent(), fs.readFileSync('tests/fixtures/presets/zk_counter.out', 'utf8'));
  // The counter is a znode of the ensemble's tree.
  await page.waitForSelector('.zk-side [data-znode="/my_counter"]', { timeout: 10_000 });
  await page.screenshot({ path: `${ARTIFACTS}/zk-2-counter.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

pageTest('the idempotent counter stays exact with an executor and the ZooKeeper leader killed', async (page) => {
  const errors = watchErrors(page);
  await openSpark(page);
  await runPreset(page, 'zk_counter_idempotent');
  // Once the tasks have started talking to ZooKeeper, kill exec1 and the leader.
  await page.waitForFunction(() => /TID/.test(document.querySelector('[data-node="exec1"] [data-field="running"]')?.textContent ?? ''),
    null, { timeout: 30_000, polling: 50 });
  await page.locator('[data-node="exec1"] [data-action="kill"]').click();
  await page.locator('[data-kind="zk-chip"][data-state="leading"] [data-action="kill"]').click();
  await waitForStatus(page, '^finished', 120_000);
  const out = await page.locator(OUTPUT).textContent();
  assert.equal(out, fs.readFileSync('tests/fixtures/presets/zk_counter_idempotent.out', 'utf8'));
  assert.equal(await page.locator('[data-kind="spark-executor"][data-node="exec1"]').getAttribute('data-state'), 'down');
  await page.screenshot({ path: `${ARTIFACTS}/zk-3-idempotent-kills.png`, fullPage: true });
  // The metrics tab shows both failures, each with its time to repair.
  await page.locator('[data-view="metrics"]').click();
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-failure]')];
    return rows.some((r) => r.dataset.kind === 'executor') && rows.some((r) => r.dataset.kind === 'zk_leader')
      && rows.every((r) => r.dataset.ttr !== '');
  }, null, { timeout: 20_000, polling: 200 });
  const ttrs = await page.$$eval('[data-failure]', (rows) => rows.map((r) => [r.dataset.failure, r.dataset.kind, Number(r.dataset.ttr)]));
  assert.ok(ttrs.every(([, , t]) => t > 0), JSON.stringify(ttrs));
  assert.notEqual(await page.locator('[data-mttr="zk_leader"]').textContent(), '—');
  await page.waitForSelector('[data-kind="chart"]', { timeout: 5_000 });
  await page.screenshot({ path: `${ARTIFACTS}/zk-4-metrics.png`, fullPage: true });
  assert.deepEqual(errors, []);
});
