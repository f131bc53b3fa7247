// Shared by the rigweb browser tests and the latency benchmark: the stack's
// addresses (from tests/web/stack.sh's environment), logging in, rigsim's
// control socket, and waiting for a tile's state.
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';

export const BASE = (process.env.RIGWEB_URL || '').replace(/\/$/, '');
if (!BASE) throw new Error('RIGWEB_URL is not set: run under tests/web/stack.sh');
export const ORIGIN = new URL(BASE).origin;
export const PASSWORD = (user) => `${user}-pass`;

// One line to rigsim's control socket, its reply as an object.
export function sim(req) {
  const sock = process.env.RIGSIM_CONTROL;
  if (!sock) throw new Error('RIGSIM_CONTROL is not set');
  return new Promise((resolve, reject) => {
    const c = net.createConnection(sock);
    let buf = '';
    c.setEncoding('utf8');
    c.on('connect', () => c.write(JSON.stringify(req) + '\n'));
    c.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      c.end();
      const r = JSON.parse(buf.slice(0, nl));
      if (!r.ok) reject(new Error(`rigsim refused ${JSON.stringify(req)}: ${r.error}`));
      else resolve(r);
    });
    c.on('error', reject);
  });
}

export async function poll(what, fn, timeoutMs = 15000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function login(page, user, { next = '/' } = {}) {
  await page.goto(`${BASE}/login?next=${encodeURIComponent(next)}`);
  await page.fill('#user', user);
  await page.fill('#password', PASSWORD(user));
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.press('#password', 'Enter')]);
}

export const tile = (page, id) => page.locator(`.tile[data-fixture="${id}"]`);

export async function bannerState(page, id) {
  return tile(page, id).locator('.banner').getAttribute('data-state');
}

// Wait until fixture id's banner shows state (PASS, FAIL, ERROR, running...).
export async function waitBanner(page, id, state, timeoutMs = 30000) {
  await page.waitForSelector(`.tile[data-fixture="${id}"] .banner[data-state="${state}"]`, { timeout: timeoutMs });
  return (await tile(page, id).locator('.banner').innerText()).replace(/\s+/g, ' ').trim();
}

// What a barcode scanner does: the serial's keys, then Enter.
export async function scan(page, id, serial) {
  await page.focus(`#scan-${id}`);
  await page.keyboard.type(serial, { delay: 5 });
  await page.keyboard.press('Enter');
}

export function artefacts(dir) {
  fs.mkdirSync(dir, { recursive: true });
  return (page, name) => page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}
