// End to end: the trunk-built page in Debian's chromium. One leader is elected; killing it
// brings it down and another server leads; restarting it makes it a follower; a worker that
// panics shows as down while the page keeps working. Screenshots land in tests/e2e/artifacts/.
import assert from 'node:assert/strict';
import {
  pageSuite, ARTIFACTS, watchErrors, server, idsIn, waitForSingleLeader, waitForFollowers, waitForSynced
} from './harness.mjs';

const { pageTest, url } = pageSuite();

pageTest('kill the leader, see another elected, restart it as a follower', async (page) => {
  const errors = watchErrors(page);
  await page.goto(url());
  await page.waitForSelector('[data-kind="zk-server"]');
  assert.equal(await page.locator('[data-kind="zk-server"]').count(), 5, 'five servers by default');

  const first = await waitForSingleLeader(page);
  await page.screenshot({ path: `${ARTIFACTS}/1-elected.png` });
  const sid = first.replace('zk', '');
  await server(page, sid).locator('[data-action="kill"]').click();
  await page.waitForSelector(`[data-node="${first}"][data-state="down"]`, { timeout: 5_000 });

  const second = await waitForSingleLeader(page, { notNode: first });
  assert.notEqual(second, first);
  // Each survivor decides after its own finalizeWait, so the followers arrive one by one.
  await waitForFollowers(page, 3);
  assert.equal(await waitForSingleLeader(page), second, 'the other three survivors follow the new leader');
  await page.screenshot({ path: `${ARTIFACTS}/2-re-elected.png` });

  await server(page, sid).locator('[data-action="restart"]').click();
  await page.waitForSelector(`[data-node="${first}"][data-state="following"]`, { timeout: 30_000 });
  assert.equal(await waitForSingleLeader(page), second, 'the restarted server joins the current leader');
  // FOLLOWING comes with the vote; the epoch moves once discovery and sync are through.
  await page.waitForFunction((node) => document.querySelector(`[data-node="${node}"] [data-field="epoch"]`)?.textContent === '2 / 2',
    first, { timeout: 10_000 });
  await page.screenshot({ path: `${ARTIFACTS}/3-rejoined.png`, fullPage: true });

  assert.deepEqual(errors, [], 'no console errors');
});

pageTest('a panicking worker shows as down and the ensemble carries on', async (page) => {
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(url());
  const leader = await waitForSingleLeader(page);
  await waitForFollowers(page, 4);
  const victim = (await idsIn(page, 'following'))[0];
  await server(page, victim.replace('zk', '')).locator('[data-action="panic"]').click();
  await page.waitForSelector(`[data-node="${victim}"][data-state="down"]`, { timeout: 5_000 });
  await server(page, victim.replace('zk', '')).locator('.crash').waitFor({ timeout: 2_000 });
  // The page still responds: the leader keeps leading and the clock keeps moving.
  const t1 = await page.locator('[data-testid="clock"]').textContent();
  await page.waitForTimeout(500);
  const t2 = await page.locator('[data-testid="clock"]').textContent();
  assert.notEqual(t1, t2, 'the virtual clock still runs');
  assert.equal(await waitForSingleLeader(page), leader);
  assert.deepEqual(pageErrors, [], 'the crash is handled, not an uncaught page error');
});

pageTest('cluster size and pause controls work', async (page) => {
  const errors = watchErrors(page);
  await page.goto(url());
  await waitForSingleLeader(page);
  await page.selectOption('[data-control="size"]', '7');
  await page.waitForFunction(() => document.querySelectorAll('[data-kind="zk-server"]').length === 7);
  assert.equal(await waitForSingleLeader(page), 'zk7', 'a fresh 7-server ensemble elects its highest id');
  // Once all are synced at epoch 1, every vote ties on (epoch, zxid): the highest id left wins.
  await waitForSynced(page, 6, 1);
  // Slow motion: after killing the leader, the votes are visible on the wire.
  await page.selectOption('[data-control="speed"]', '0.1');
  await server(page, 7).locator('[data-action="kill"]').click();
  await page.waitForSelector('svg circle.flight.vote', { timeout: 5_000 });
  await page.selectOption('[data-control="speed"]', '5');
  assert.equal(await waitForSingleLeader(page, { notNode: 'zk7' }), 'zk6');
  await page.click('[data-action="pause"]');
  const t1 = await page.locator('[data-testid="clock"]').textContent();
  await page.waitForTimeout(600);
  assert.equal(await page.locator('[data-testid="clock"]').textContent(), t1, 'paused: the clock stands still');
  await page.click('[data-action="pause"]');
  await page.waitForFunction((t) => document.querySelector('[data-testid="clock"]').textContent !== t, t1);
  assert.deepEqual(errors, []);
});

pageTest('observers join the ensemble, never lead, and carry on observing after a leader kill', async (page) => {
  const errors = watchErrors(page);
  await page.goto(url());
  await waitForSingleLeader(page);
  await page.selectOption('[data-control="size"]', '3');
  await page.selectOption('[data-control="observers"]', '2');
  await page.waitForFunction(() => document.querySelectorAll('[data-kind="zk-server"]').length === 5);
  await page.waitForFunction(() => document.querySelectorAll('[data-kind="zk-server"][data-state="observing"]').length === 2,
    null, { timeout: 30_000, polling: 100 });
  const leader = await waitForSingleLeader(page);
  assert.ok(['zk1', 'zk2', 'zk3'].includes(leader), `an observer led: ${leader}`);
  await page.screenshot({ path: 'tests/e2e/artifacts/zk-observers.png', fullPage: true });
  await page.locator(`[data-kind="zk-server"][data-node="${leader}"] [data-action="kill"]`).click();
  const next = await waitForSingleLeader(page, { notNode: leader });
  assert.ok(['zk1', 'zk2', 'zk3'].includes(next), `an observer led: ${next}`);
  // An observer that lost its leader looks for the new one, then observes it.
  await page.waitForFunction(() => ['zk4', 'zk5'].every((id) =>
    document.querySelector(`[data-kind="zk-server"][data-node="${id}"]`)?.dataset.state === 'observing'),
  null, { timeout: 30_000, polling: 100 });
  assert.deepEqual(errors, []);
});

pageTest('an isolated leader is replaced after the sync timeout, and rejoins when healed', async (page) => {
  const errors = watchErrors(page);
  await page.goto(url());
  const leader = await waitForSingleLeader(page);
  await waitForFollowers(page, 4);
  await page.selectOption('[data-control="speed"]', '5');
  const sid = leader.replace('zk', '');
  await server(page, sid).locator('[data-action="isolate"]').click();
  await page.waitForSelector(`[data-node="${leader}"].isolated`);
  // No reset on a partition: a new leader only after syncLimit × tickTime (10 s virtual, 2 s here).
  const next = await waitForSingleLeader(page, { notNode: leader, timeout: 30_000 });
  await page.waitForSelector(`[data-node="${leader}"][data-state="looking"]`, { timeout: 10_000 });
  await server(page, sid).locator('[data-action="heal"]').click();
  await page.waitForSelector(`[data-node="${leader}"][data-state="following"]`, { timeout: 30_000 });
  assert.equal(await waitForSingleLeader(page), next);
  assert.deepEqual(errors, []);
});
