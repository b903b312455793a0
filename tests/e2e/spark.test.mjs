// End to end: Spark on the page. The word count preset runs on a driver and two executors,
// each a Web Worker, and prints what PySpark printed; killing an executor in the middle of its
// reduce stage shows the executor down, a stage retrying (lost tasks, FetchFailed, the parent
// stage re-run from lineage), and the program still prints what PySpark printed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { pageSuite, ARTIFACTS, watchErrors } from './harness.mjs';

const WORDCOUNT_OUT = fs.readFileSync('tests/fixtures/presets/wordcount.out', 'utf8');
const { pageTest, url } = pageSuite();

const exec = (page, id) => page.locator(`[data-kind="spark-executor"][data-node="exec${id}"]`);
const OUTPUT = '[data-testid="job-output"]';

async function openSpark(page) {
  await page.goto(url());
  await page.locator('[data-view="spark"]').click();
  for (const id of [1, 2]) {
    await page.waitForFunction((id) => document.querySelector(`[data-node="exec${id}"] [data-field="running"]`) !== null,
      id, { timeout: 30_000, polling: 100 });
  }
}

async function waitForOutput(page, want, timeout = 60_000) {
  await page.waitForFunction(([sel, want]) => document.querySelector(sel)?.textContent === want,
    [OUTPUT, want], { timeout, polling: 100 });
}

pageTest('the word count preset prints what PySpark printed', async (page) => {
  const errors = watchErrors(page);
  await openSpark(page);
  const editor = page.locator('[data-testid="job-editor"]');
  assert.match(await editor.inputValue(), /reduceByKey\(add\)/);
  await page.locator('[data-action="run-job"]').click();
  await waitForOutput(page, WORDCOUNT_OUT);
  const statuses = await page.$$eval('[data-stage]', (els) => els.map((e) => e.dataset.status));
  assert.ok(statuses.length >= 2, `stages: ${statuses}`);
  assert.ok(statuses.every((s) => s === 'succeeded'), `stages: ${statuses}`);
  await page.screenshot({ path: `${ARTIFACTS}/spark-1-wordcount.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

pageTest('killing an executor mid-stage of the word count retries the stage and keeps the answer', async (page) => {
  const errors = watchErrors(page);
  await openSpark(page);
  await page.locator('[data-control="speed"]').selectOption('0.5');
  await page.locator('[data-action="run-job"]').click();
  // A reduce stage is running and exec1 has a task: kill exec1 now.
  await page.waitForFunction(() => {
    const running = [...document.querySelectorAll('[data-stage][data-status="running"]')].map((e) => Number(e.dataset.stage));
    const busy = document.querySelector('[data-node="exec1"] [data-field="running"]')?.textContent?.includes('TID');
    return busy && running.some((s) => s >= 1);
  }, null, { timeout: 30_000, polling: 25 });
  await exec(page, 1).locator('[data-action="kill"]').click();
  await page.waitForFunction(() => document.querySelector('[data-node="exec1"]')?.dataset.state === 'down', null, { timeout: 5_000 });
  await page.waitForFunction(() => document.querySelector('[data-stage][data-status="retrying"]') !== null,
    null, { timeout: 30_000, polling: 25 });
  await page.screenshot({ path: `${ARTIFACTS}/spark-2-retrying.png`, fullPage: true });
  await exec(page, 1).locator('[data-action="restart"]').click();
  await waitForOutput(page, WORDCOUNT_OUT, 90_000);
  assert.equal(await exec(page, 1).getAttribute('data-state'), 'alive');
  const events = await page.locator('[data-testid="spark-events"]').textContent();
  assert.match(events, /executor 1 removed/);
  assert.match(events, /attempt 1/);
  await page.screenshot({ path: `${ARTIFACTS}/spark-3-recovered.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

pageTest('the cluster shape is chosen in the page: three executors of one core', async (page) => {
  const errors = watchErrors(page);
  await openSpark(page);
  await page.locator('[data-control="executors"]').selectOption('3');
  await page.locator('[data-control="cores"]').selectOption('1');
  await page.waitForFunction(() => document.querySelectorAll('[data-kind="spark-executor"][data-state="alive"]').length === 3
    && document.querySelector('[data-node="exec3"] [data-field="running"]') !== null, null, { timeout: 30_000, polling: 100 });
  const editor = page.locator('[data-testid="job-editor"]');
  await editor.fill('from pyspark import SparkContext\nsc = SparkContext()\nprint(sc.defaultParallelism, sc.parallelize(range(9)).glom().map(len).collect())\n');
  await page.locator('[data-action="run-job"]').click();
  await waitForOutput(page, '3 [3, 3, 3]\n');
  assert.deepEqual(errors, []);
});
