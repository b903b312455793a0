// End to end: Spark's standalone masters made highly available through ZooKeeper, on the page.
// Two masters elect a leader under /spark/leader_election; run the seed's counter preset, kill
// the active master and an executor mid-job: the standby goes RECOVERING → COMPLETING_RECOVERY
// → ALIVE once the dead master's session expires, the workers and the application follow it,
// the job finishes with the recorded answer, and the metrics show a Spark-master failure with
// its time to repair.
import assert from 'node:assert/strict';
import { pageSuite, ARTIFACTS, watchErrors } from './harness.mjs';

const { pageTest, url } = pageSuite();

const master = (state) => `[data-kind="spark-master"][data-state="${state}"]`;

pageTest('a standby master takes over through ZooKeeper while the job runs', async (page) => {
  const errors = watchErrors(page);
  await page.goto(url());
  await page.waitForSelector('[data-kind="zk-server"][data-state="leading"]', { timeout: 30_000 });
  await page.locator('[data-view="spark"]').click();
  // One master ALIVE, the other STANDBY; the application registered.
  await page.waitForSelector(master('alive'), { timeout: 30_000 });
  await page.waitForSelector(master('standby'), { timeout: 30_000 });
  await page.waitForFunction(() => /master\d/.test(document.querySelector('[data-kind="spark-app"]')?.textContent ?? ''),
    null, { timeout: 30_000, polling: 200 });
  const active = await page.locator(master('alive')).getAttribute('data-node');
  // Faster clock: the dead master's session expires after 40 s of virtual time.
  await page.locator('[data-control="speed"]').selectOption('5');
  await page.locator('[data-control="preset"]').selectOption('zk_counter');
  await page.locator('[data-action="run-job"]').click();
  await page.waitForFunction(() => /TID/.test(document.querySelector('[data-node="exec1"] [data-field="running"]')?.textContent ?? ''),
    null, { timeout: 30_000, polling: 50 });
  await page.locator(`[data-node="${active}"] [data-action="kill"]`).click();
  await page.locator('[data-node="exec1"] [data-action="kill"]').click();
  await page.waitForSelector(`[data-node="${active}"][data-state="down"]`, { timeout: 5_000 });
  // The job does not wait for the masters.
  await page.waitForFunction(() => /^finished/.test(document.querySelector('[data-testid="job-status"]')?.textContent ?? ''),
    null, { timeout: 120_000, polling: 200 });
  const out = await page.locator('[data-testid="job-output"]').textContent();
  assert.ok(Number(out.trim()) >= 100, `the counter: ${out}`);
  // The standby takes over: RECOVERING, then ALIVE with the workers and the application.
  const standby = active === 'master1' ? 'master2' : 'master1';
  await page.waitForSelector(`[data-node="${standby}"][data-state="alive"]`, { timeout: 60_000 });
  await page.waitForFunction((m) => (document.querySelector('[data-kind="spark-app"]')?.textContent ?? '').includes(`master ${m}`),
    standby, { timeout: 30_000, polling: 200 });
  await page.screenshot({ path: `${ARTIFACTS}/ha-1-failover.png`, fullPage: true });
  await page.locator('[data-view="metrics"]').click();
  // Both failures, each with its time to repair.
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-failure]')];
    return rows.some((r) => r.dataset.kind === 'spark_master') && rows.some((r) => r.dataset.kind === 'executor')
      && rows.every((r) => r.dataset.ttr !== '');
  }, null, { timeout: 20_000, polling: 200 });
  const masterTtr = await page.$eval('[data-failure][data-kind="spark_master"]', (r) => Number(r.dataset.ttr));
  assert.ok(masterTtr > 30_000 && masterTtr < 60_000, `master MTTR ${masterTtr} ms: the session timeout (40 s) plus recovery`);
  await page.screenshot({ path: `${ARTIFACTS}/ha-2-metrics.png`, fullPage: true });
  assert.deepEqual(errors, []);
});
