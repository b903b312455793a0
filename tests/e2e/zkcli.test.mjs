// End to end: zkCli on the page. Commands typed into the console print what zkCli prints; the
// znode they create shows in every server's tree; Tab completes paths and ↑ recalls history;
// killing the leader moves the session to another server, and the data is still there.
import assert from 'node:assert/strict';
import { pageSuite, ARTIFACTS, watchErrors, server, waitForSingleLeader } from './harness.mjs';

const { pageTest, url } = pageSuite();

const INPUT = '[data-testid="zk-console-input"]';
const OUTPUT = '[data-testid="zk-console-output"]';
const STATUS = '[data-testid="zk-console-status"]';

/** Waits until zkCli's session is CONNECTED and no line is running. */
async function waitForIdleConnected(page, timeout = 30_000) {
  await page.waitForFunction((sel) => {
    const s = document.querySelector(sel)?.textContent ?? '';
    return s.includes('CONNECTED') && !s.includes('CONNECTING') && !s.includes('running');
  }, STATUS, { timeout, polling: 100 });
}

/** Types `line` into zkCli and returns what it printed for it (the text after its echo). */
async function run(page, line, timeout = 20_000) {
  const before = (await page.locator(OUTPUT).textContent()).length;
  await page.locator(INPUT).fill(line);
  await page.locator(INPUT).press('Enter');
  const handle = await page.waitForFunction(([out, status, from, line]) => {
    const text = document.querySelector(out)?.textContent ?? '';
    const busy = (document.querySelector(status)?.textContent ?? '').includes('running');
    const echo = text.indexOf(`] ${line}\n`, from);
    return !busy && echo >= 0 ? text.slice(echo + line.length + 3) : null;
  }, [OUTPUT, STATUS, before, line], { timeout, polling: 50 });
  return handle.jsonValue();
}

const sessionOf = async (page) => (await page.locator(STATUS).textContent()).match(/session (0x[0-9a-f]+)/)?.[1];

pageTest('zkCli: create, get, ls; the znode on every server; get still answers after the leader dies', async (page) => {
  const errors = watchErrors(page);
  await page.goto(url());
  const leader = await waitForSingleLeader(page);
  await waitForIdleConnected(page);
  assert.match(await page.locator(OUTPUT).textContent(), /Welcome to ZooKeeper!/);
  assert.match(await page.locator('[data-testid="zk-console-prompt"]').textContent(), /^\[zk: 127\.0\.0\.1:218\d\(CONNECTED\) 0\] $/);

  assert.equal(await run(page, 'create /demo hello'), 'Created /demo\n');
  assert.equal(await run(page, 'get /demo'), 'hello\n');
  // /spark is the standalone Spark masters' (they elect a leader on this ensemble too).
  assert.match(await run(page, 'ls /'), /^\[demo, (spark, )?zookeeper\]\n$/);
  assert.match(await run(page, 'stat /demo'), /^cZxid = 0x[0-9a-f]+\n(.*\n)*dataLength = 5\nnumChildren = 0\n$/);

  // Every server applied the create: its tree shows /demo.
  const ids = await page.$$eval('main [data-tree-server]', (els) => els.map((e) => e.dataset.treeServer));
  assert.equal(ids.length, 5);
  for (const id of ids) {
    await page.locator(`main [data-tree-server="${id}"]`).click();
    await page.locator(`main [data-testid="znode-tree"][data-server="${id}"] [data-znode="/demo"]`).waitFor({ timeout: 5_000 });
  }
  await page.locator('main [data-znode="/demo"]').click();
  assert.match(await page.locator('main [data-testid="znode-stat"]').textContent(), /^hello\ncZxid = 0x/);

  // Tab completes the path from the tree; ↑ recalls the last line.
  await page.locator(INPUT).fill('get /de');
  await page.locator(INPUT).press('Tab');
  assert.equal(await page.locator(INPUT).inputValue(), 'get /demo');
  await page.locator(INPUT).fill('');
  await page.locator(INPUT).press('ArrowUp');
  assert.equal(await page.locator(INPUT).inputValue(), 'stat /demo');
  await page.locator(INPUT).fill('');
  await page.screenshot({ path: `${ARTIFACTS}/zkcli-1-demo.png`, fullPage: true });

  // Kill the leader: the session's server stops serving (or dies), the client moves on.
  const session = await sessionOf(page);
  await server(page, leader.replace('zk', '')).locator('[data-action="kill"]').click();
  await page.waitForSelector(`[data-node="${leader}"][data-state="down"]`, { timeout: 5_000 });
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.includes('state:Disconnected'), OUTPUT, { timeout: 10_000 });
  await waitForSingleLeader(page, { notNode: leader });
  await waitForIdleConnected(page);
  assert.equal(await sessionOf(page), session, 'the same session, on another server');
  let answer = '';
  for (let i = 0; i < 10 && answer !== 'hello\n'; i++) {
    answer = await run(page, 'get /demo');
    if (answer !== 'hello\n') await page.waitForTimeout(500); // ConnectionLoss while it moves
  }
  assert.equal(answer, 'hello\n', 'the data survived the leader');
  const out = await page.locator(OUTPUT).textContent();
  assert.ok(out.lastIndexOf('state:SyncConnected') > out.lastIndexOf('state:Disconnected'), 'reconnected');
  await page.screenshot({ path: `${ARTIFACTS}/zkcli-2-after-failover.png`, fullPage: true });
  assert.deepEqual(errors, [], 'no console errors');
});

pageTest('zkCli: watches fire between commands and ephemerals carry their owner', async (page) => {
  await page.goto(url());
  await waitForSingleLeader(page);
  await waitForIdleConnected(page);
  await run(page, 'create /w one');
  assert.equal(await run(page, 'get -w /w'), 'one\n');
  assert.equal(await run(page, 'set /w two'), '\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/w\n');
  assert.equal(await run(page, 'create -e /w/eph x'), 'Created /w/eph\n');
  const session = await sessionOf(page);
  // The ZooKeeper view's tree (the Spark view shows the same tree beside its jobs).
  const eph = page.locator('main [data-znode="/w/eph"]');
  await eph.waitFor({ timeout: 5_000 });
  assert.match(await eph.textContent(), new RegExp(`eph ${session}`));
  assert.match(await run(page, 'help'), /^ZooKeeper -server host:port -client-configuration properties-file cmd args\n/);

  // A connect button types `connect 127.0.0.1:2182`: the old session closes (its ephemeral
  // goes), a new one opens on zk2.
  await page.locator('[data-connect="zk2"]').click();
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.includes('] connect 127.0.0.1:2182\n'), OUTPUT);
  await waitForIdleConnected(page);
  assert.match(await page.locator('[data-testid="zk-console-prompt"]').textContent(), /^\[zk: 127\.0\.0\.1:2182\(CONNECTED\) \d+\] $/);
  assert.notEqual(await sessionOf(page), session, 'a new session');
  assert.equal(await run(page, 'ls /w'), '[]\n', 'the closed session took its ephemeral with it');
});
