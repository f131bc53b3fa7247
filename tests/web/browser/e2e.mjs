// End-to-end tests of the operator station in a real browser (Debian's
// chromium through tests/browser/lib.mjs), against rigsim + rigd + rigweb
// started by tests/web/stack.sh:
//
//   stack.sh BUILDDIR -- node tests/web/browser/e2e.mjs ARTEFACT_DIR SCENARIO...
//
// One line per scenario ("PASS name" / "FAIL name: why"); full-page
// screenshots in ARTEFACT_DIR/<scenario>-<step>.png. On every page: no
// console error, nothing loaded from outside rigweb, not blank. Exit 1 if
// any scenario failed. Waits are for states, with generous bounds; nothing
// asserts on speed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { launch, openPage, checkNotBlank, assertClean } from '../../browser/lib.mjs';
import { BASE, ORIGIN, sim, poll, login, tile, waitBanner, scan, artefacts, PASSWORD } from './weblib.mjs';

const [artDir, ...wanted] = process.argv.slice(2);
if (!artDir || !wanted.length) {
  console.error('usage: e2e.mjs ARTEFACT_DIR SCENARIO... (or all)');
  process.exit(64);
}
const shot = artefacts(artDir);
// failure screenshots of an earlier run would mislead
for (const f of fs.readdirSync(artDir)) if (/-failure-\d+\.png$/.test(f)) fs.unlinkSync(path.join(artDir, f));
const PEN = { A: 'PA-0000001', B: 'PA-0000002' };
const BENCH = { A: 0, B: 1 };

function check(cond, what) {
  if (!cond) throw new Error(what);
}

const motorRunning = async (fx) => (await sim({ query: 'pen', bench: BENCH[fx] })).motor_running;

// A page of its own (own cookies), recorded for console errors and
// outside requests; every one is checked when the scenario ends.
async function newPage(ctx, viewport) {
  const p = await openPage(ctx.browser, { allowOrigins: [ORIGIN], viewport });
  ctx.pages.push(p);
  return p.page;
}

async function operatorPage(ctx, user = 'operator') {
  const page = await newPage(ctx);
  await login(page, user);
  await page.waitForSelector('.tile[data-fixture="A"] .banner[data-state]');
  await page.waitForSelector('.tile[data-fixture="B"] .banner[data-state]');
  return page;
}

// The verdict of a good pen on fixture fx: PASS -- or, on a machine so
// loaded that rigd itself starves, an ERROR that blames the rig (the pen's
// watchdog, lost samples). Never FAIL: that would be a false verdict.
// Scenarios about something else than the verdict use this (once the run
// shows TESTING: the banner before it may be an earlier verdict); `pass`
// itself wants PASS.
async function goodPenVerdict(page, fx, dut) {
  await page.waitForSelector(`.tile[data-fixture="${fx}"] .banner:is([data-state=PASS],[data-state=FAIL],[data-state=ERROR])`,
    { timeout: 30000 });
  const state = await tile(page, fx).locator('.banner').getAttribute('data-state');
  const text = (await tile(page, fx).locator('.banner').innerText()).replace(/\s+/g, ' ');
  check(text.includes(dut), `fixture ${fx}'s banner does not name ${dut}: ${text}`);
  if (state === 'PASS') return;
  check(state === 'ERROR' && /rig problem|samples lost|starved/.test(text), `fixture ${fx}: ${text}`);
  console.log(`  note: fixture ${fx} ended ERROR for the rig, not the pen (a loaded machine): ${text}`);
}

const todayCount = async (page, fx) =>
  Number((/Today: (\d+) tested/.exec(await tile(page, fx).locator('.counts').innerText()) || [])[1]);

const focused = (page) => page.evaluate(() => document.activeElement && document.activeElement.id);

// Wait until a fixture's devices are both back (after an unplug).
async function waitDevices(page, fx) {
  await poll(`fixture ${fx}'s devices`, async () => {
    const t = await tile(page, fx).locator('.chips').innerText();
    return !/missing|offline/.test(t);
  }, 20000);
}

// Remove up to `count` console problems matching re: errors the scenario
// caused on purpose (Chromium logs every 4xx answer as a console error).
function expectOnce(ctx, re, count = 1) {
  const { problems } = ctx.pages[ctx.pages.length - 1];
  for (let i = problems.length - 1; i >= 0 && count > 0; i--) {
    if (re.test(problems[i])) { problems.splice(i, 1); count--; }
  }
}

const scenarios = {
  // Log in: a page without a session goes to the login page; a wrong
  // password is refused; the right one opens the operator page.
  async login(ctx) {
    const page = await newPage(ctx);
    await page.goto(`${BASE}/`);
    check(new URL(page.url()).pathname === '/login', `/ without a session went to ${page.url()}`);
    await page.fill('#user', 'operator');
    await page.fill('#password', 'wrong-password');
    await page.press('#password', 'Enter');
    await page.waitForSelector('#login-error:not(:empty)');
    check(/wrong/i.test(await page.innerText('#login-error')), 'no message for a wrong password');
    // the refused login's 401 is the expected answer, not a fault of the page
    expectOnce(ctx, /status of 401/);
    await shot(page, 'login-refused');
    await page.fill('#password', PASSWORD('operator'));
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.press('#password', 'Enter')]);
    await page.waitForSelector('.tile[data-fixture="B"] .banner[data-state]');
    const who = await page.innerText('#nav');
    check(/operator \(operator\)/.test(who), `header does not name the user: ${who}`);
    check(!/Engineer|Admin/.test(who), `an operator is offered other pages: ${who}`);
    check(await focused(page) === 'scan-A', 'the first scan field does not have the focus');
    await checkNotBlank(page);
    await shot(page, 'login-operator-page');
  },

  // Scan -> run -> PASS; the measurements and the plot fill; today's count
  // grows; the focus is back in the scan field; a second run is a retest.
  async pass(ctx) {
    const page = await operatorPage(ctx);
    const before = await todayCount(page, 'A');
    await scan(page, 'A', PEN.A);
    await waitBanner(page, 'A', 'running', 10000);
    const text = await waitBanner(page, 'A', 'PASS');
    check(text.includes('PASS') && text.includes(PEN.A), `banner: ${text}`);
    const rows = await tile(page, 'A').locator('.meas tbody tr').count();
    const passRows = await tile(page, 'A').locator('.meas tbody tr.m-PASS').count();
    check(rows >= 10 && passRows === rows, `measurements: ${passRows} PASS of ${rows}`);
    const points = await page.evaluate(() => window.__rigStation.tiles.get('A').plot.force.length);
    check(points > 100, `the live plot has ${points} points`);
    await poll('today\'s count', async () => (await todayCount(page, 'A')) === before + 1, 5000);
    check(await focused(page) === 'scan-A', `focus after the verdict: ${await focused(page)}`);
    await shot(page, 'pass-banner');
    // the same unit again: attempt 2, a retest, shown on the tile
    await scan(page, 'A', PEN.A);
    await waitBanner(page, 'A', 'running', 10000);
    await poll('the attempt', async () => /attempt 2 \(retest 1\)/.test(await tile(page, 'A').locator('.counts').innerText()), 10000);
    await goodPenVerdict(page, 'A', PEN.A);
  },

  // A pen whose needle depth drifts (rigsim fault) FAILs, and the banner
  // names the measurement and its limit in words.
  async fail(ctx) {
    const page = await operatorPage(ctx);
    await sim({ fault: 'depth-drift', value: 120, bench: BENCH.B });
    try {
      await scan(page, 'B', PEN.B);
      const text = await waitBanner(page, 'B', 'FAIL');
      check(/FAIL/.test(text) && /depth[ a-z]* [0-9.]+ mm (above|below) limit [0-9.]+ mm/.test(text),
        `FAIL banner does not say which measurement failed and why: ${text}`);
      check(await tile(page, 'B').locator('.meas tbody tr.m-FAIL').count() >= 1, 'no FAIL row');
      check(await focused(page) === 'scan-B', 'focus not back in the scan field');
      await shot(page, 'fail-banner');
    } finally {
      await sim({ clear: true, bench: BENCH.B });
    }
  },

  // The sensor head unplugged mid-run: ERROR (the rig could not measure),
  // never FAIL; the tile shows the sensor missing, then back.
  async error(ctx) {
    const page = await operatorPage(ctx);
    await scan(page, 'A', PEN.A);
    await waitBanner(page, 'A', 'running', 10000);
    await poll('the motor', () => motorRunning('A'), 10000, 50);
    await sim({ fault: 'sensor-unplug', value: 1.5, bench: BENCH.A });
    const text = await waitBanner(page, 'A', 'ERROR');
    check(/ERROR/.test(text) && /sensor/i.test(text), `ERROR banner does not say why: ${text}`);
    await shot(page, 'error-banner');
    await waitDevices(page, 'A');
    check(!(await motorRunning('A')), 'motor still running after the ERROR');
  },

  // Two fixtures at once: both testing together, each its own verdict.
  async two(ctx) {
    const page = await operatorPage(ctx);
    await scan(page, 'A', PEN.A);
    await waitBanner(page, 'A', 'running', 10000);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    check(await focused(page) === 'scan-B', `Tab Tab from scan-A went to ${await focused(page)}`);
    await page.keyboard.type(PEN.B, { delay: 5 });
    await page.keyboard.press('Enter');
    await poll('both fixtures testing', async () =>
      (await tile(page, 'A').locator('.banner').getAttribute('data-state')) === 'running' &&
      (await tile(page, 'B').locator('.banner').getAttribute('data-state')) === 'running', 10000, 50);
    await shot(page, 'two-running');
    await goodPenVerdict(page, 'A', PEN.A);
    await goodPenVerdict(page, 'B', PEN.B);
    // A's verdict did not take the focus from B, where the operator was
    check(await focused(page) === 'scan-B', `focus after both verdicts: ${await focused(page)}`);
    await shot(page, 'two-pass');
  },

  // Abort by keyboard: Escape asks, Enter confirms; the run ends ABORTED
  // naming who aborted; the motor stops; the focus returns to the scan field.
  async abort(ctx) {
    const page = await operatorPage(ctx);
    await scan(page, 'A', PEN.A);
    await waitBanner(page, 'A', 'running', 10000);
    await page.keyboard.press('Escape');
    await page.waitForSelector('#abort-dialog[open]');
    await shot(page, 'abort-confirm');
    await page.keyboard.press('Enter');
    const text = await waitBanner(page, 'A', 'ABORTED');
    check(/abort requested by operator/.test(text), `ABORTED banner does not say who: ${text}`);
    await poll('the motor stopped', async () => !(await motorRunning('A')), 5000);
    check(await focused(page) === 'scan-A', `focus after the abort: ${await focused(page)}`);
    await shot(page, 'abort-banner');
  },

  // An operator cannot open the engineer or admin pages or their API.
  async forbidden(ctx) {
    const page = await newPage(ctx);
    await login(page, 'operator');
    for (const p of ['/engineer', '/admin']) {
      const r = await page.goto(`${BASE}${p}`);
      const path = new URL(page.url()).pathname;
      check(r.status() === 403 || path === '/' || path === '/login', `operator opened ${p}: ${r.status()} at ${path}`);
    }
    await shot(page, 'forbidden-engineer');
    await page.goto(`${BASE}/`);
    const codes = await page.evaluate(async () => {
      const out = {};
      for (const p of ['/api/history', '/api/unit/PA-0000001', '/api/stats', '/api/users', '/api/devices']) {
        out[p] = (await fetch(p)).status;
      }
      return out;
    });
    for (const [p, c] of Object.entries(codes)) check(c === 403, `operator got ${c} from ${p}`);
    // the refusals are the expected answers, not faults of the page
    expectOnce(ctx, /status of 403/, 2 + Object.keys(codes).length);
  },

  // rigd restarted under the page, mid-run: the page says rigd is gone and
  // disables the controls, reconnects by itself and shows the truth (the
  // run was aborted by rigd's shutdown; the bench is free again).
  async 'rigd-restart'(ctx) {
    const page = await operatorPage(ctx);
    await scan(page, 'A', PEN.A);
    await waitBanner(page, 'A', 'running', 10000);
    restartRigd('stop');
    await page.waitForSelector('#alert:not([hidden])', { timeout: 15000 });
    check(/rigd/.test(await page.innerText('#alert')), 'the alert does not name rigd');
    check(await page.isDisabled('#scan-A') && await page.isDisabled('#scan-B'), 'controls enabled without rigd');
    await shot(page, 'rigd-down');
    restartRigd('start');
    await page.waitForSelector('#alert', { state: 'hidden', timeout: 30000 });
    const text = await waitBanner(page, 'A', 'ABORTED', 15000);
    check(/shutting down|owner disconnected/.test(text), `after the restart the tile says: ${text}`);
    check(!(await page.isDisabled('#scan-A')), 'scan field still disabled');
    check(await focused(page) === 'scan-A', `focus after the reconnect: ${await focused(page)}`);
    check(/bench free/.test(await tile(page, 'A').locator('.chips').innerText()), 'bench not free');
    await shot(page, 'rigd-back');
    // and it works: a run after the restart
    await waitDevices(page, 'A');
    await scan(page, 'A', PEN.A);
    await waitBanner(page, 'A', 'running', 10000);
    await goodPenVerdict(page, 'A', PEN.A);
  },

  // The engineer: live view of a fixture, history with report links, unit
  // lookup, stats, devices and calibration.
  async engineer(ctx) {
    const page = await newPage(ctx);
    await login(page, 'engineer', { next: '/engineer#live' });
    await page.waitForSelector('#live .tile[data-fixture="A"] .banner[data-state]');
    await scan(page, 'A', PEN.A);
    await waitBanner(page, 'A', 'running', 10000);
    await goodPenVerdict(page, 'A', PEN.A);
    await shot(page, 'engineer-live');
    await page.click('[data-tab="history"]');
    await page.waitForSelector('#history-table tbody tr a[href^="/reports/run/"]');
    check((await page.innerText('#history-table')).includes(PEN.A), 'history lacks the run');
    await shot(page, 'engineer-history');
    await page.click(`#history-table a[href="#unit=${PEN.A}"]`);
    await page.waitForSelector('#unit-table tbody tr a[href^="/reports/run/"]');
    check(/attempt/.test(await page.innerText('#unit-summary')), 'unit summary');
    await shot(page, 'engineer-unit');
    await page.click('[data-tab="stats"]');
    await page.waitForSelector('#stats-table tbody tr td.num');
    check(/depth/.test(await page.innerText('#stats-table')), 'stats lack depth');
    await shot(page, 'engineer-stats');
    await page.click('[data-tab="devices"]');
    await page.waitForSelector('#devices-table tbody tr td .ok-text, #devices-table tbody tr td .warn-text');
    check(/SH2-000101/.test(await page.innerText('#devices-table')), 'devices lack the sensor head');
    await shot(page, 'engineer-devices');
    // Reports: the run's from History, the lot's from the Reports tab.
    await page.click('[data-tab="history"]');
    await page.waitForSelector('#history-table tbody tr a[href^="/reports/run/"]');
    await Promise.all([page.waitForURL(/\/reports\/run\//), page.click('#history-table tbody tr:first-child a[href^="/reports/run/"]')]);
    await page.waitForSelector('.banner');
    check((await page.innerText('body')).includes(PEN.A), 'the run report does not name the DUT');
    check(await page.locator('svg').count() > 0, 'the run report has no plot');
    await shot(page, 'engineer-run-report');
    await page.goto(`${BASE}/engineer#reports`);
    await page.waitForSelector('#lot-form [name=since]:visible');
    await Promise.all([page.waitForURL(/\/reports\/lot\?since=/), page.click('#lot-form button[type=submit]')]);
    check(/Lot report/.test(await page.innerText('h1')), 'the lot report has no title');
    check(/depth/.test(await page.innerText('body')) && await page.locator('svg').count() > 0,
      'the lot report lacks the depth measurement or its plots');
    await shot(page, 'engineer-lot-report');
  },

  // The admin: add a user, change the role, reset the password, delete.
  async admin(ctx) {
    const page = await newPage(ctx);
    await login(page, 'admin', { next: '/admin' });
    await page.waitForSelector('#users-table tbody tr[data-user="admin"]');
    await page.fill('#add-form [name=user]', 'newbie');
    await page.selectOption('#add-form [name=role]', 'operator');
    await page.fill('#add-form [name=password]', 'newbie-pass-1');
    await page.click('#add-form button[type=submit]');
    const row = page.locator('#users-table tbody tr[data-user="newbie"]');
    await row.waitFor();
    await row.locator('select').selectOption('engineer');
    await row.locator('button', { hasText: 'Change role' }).click();
    await page.waitForSelector('#users-table tbody tr[data-user="newbie"] td:nth-child(2):text-is("engineer")');
    await page.locator('#users-table tbody tr[data-user="newbie"] input[type=password]').fill('newbie-pass-2');
    await page.locator('#users-table tbody tr[data-user="newbie"] button', { hasText: 'Reset password' }).click();
    await page.waitForSelector('#users-done:has-text("reset")');
    await shot(page, 'admin-users');
    // the new password works, with the new role
    const other = await newPage(ctx);
    await other.goto(`${BASE}/login`);
    await other.fill('#user', 'newbie');
    await other.fill('#password', 'newbie-pass-2');
    await Promise.all([other.waitForURL((u) => u.pathname === '/engineer'), other.press('#password', 'Enter')]);
    await other.waitForSelector('#live .tile');
    // deleting the user ends its session: check and close its page first
    const rec = ctx.pages.pop();
    await checkNotBlank(other);
    assertClean(rec, 'admin (the new user\'s page)');
    await rec.context.close();
    page.once('dialog', (d) => d.accept());
    await page.locator('#users-table tbody tr[data-user="newbie"] button', { hasText: 'Delete' }).click();
    await page.waitForSelector('#users-table tbody tr[data-user="newbie"]', { state: 'detached' });
  },
};

// rigd is stopped and started again by the stack (stack.sh's stop-rigd,
// start-rigd: rigd must start inside rigsim's environment).
function restartRigd(what) {
  const dir = process.env.RIGWEB_STACK_DIR;
  if (!dir) throw new Error('RIGWEB_STACK_DIR is not set: run under tests/web/stack.sh');
  const r = spawnSync(`${dir}/${what}-rigd`, [], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${what} rigd: exit ${r.status}`);
}

const names = wanted.includes('all') ? Object.keys(scenarios) : wanted;
const browser = await launch();
let failed = 0;
for (const name of names) {
  const fn = scenarios[name];
  const ctx = { browser, pages: [] };
  const t0 = Date.now();
  try {
    if (!fn) throw new Error('no such scenario');
    await fn(ctx);
    for (const p of ctx.pages) {
      await checkNotBlank(p.page);
      assertClean(p, name);
    }
    console.log(`PASS ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message}`);
    for (const [i, p] of ctx.pages.entries()) {
      await p.page.screenshot({ path: path.join(artDir, `${name}-failure-${i}.png`), fullPage: true }).catch(() => {});
      if (p.problems.length) console.log(`  page ${i} problems:\n    ${p.problems.join('\n    ')}`);
    }
  } finally {
    for (const p of ctx.pages) await p.context.close().catch(() => {});
  }
}
await browser.close();
process.exit(failed ? 1 : 0);
