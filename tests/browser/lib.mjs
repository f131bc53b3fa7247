// Shared headless-Chromium harness for the report and rigweb tests.
//
// Contract: openPage() launches Debian's /usr/bin/chromium through
// playwright-core (no bundled browser is downloaded) and returns a page
// whose console errors, uncaught exceptions and requests are recorded:
//   - problems: every console error/warning-as-error and page error, as text;
//   - outside:  every request whose URL is not file:, data:, blob: or on an
//               allowed origin (the server under test). Such requests are
//               aborted, so a report that needs the network fails visibly.
// checkNotBlank() fails when the rendered page is a single colour or has
// no text. Every function throws on failure; tests exit non-zero.
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    // the CI machine runs as root, where Chromium refuses its sandbox
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

export async function openPage(browser, { allowOrigins = [], viewport } = {}) {
  const context = await browser.newContext({ viewport: viewport || { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  const outside = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await context.route('**/*', (route) => {
    const url = route.request().url();
    const local = /^(file|data|blob|about):/.test(url) ||
      allowOrigins.some((o) => url.startsWith(o));
    if (local) return route.continue();
    outside.push(url);
    return route.abort();
  });
  return { context, page, problems, outside };
}

// A page is blank when its screenshot is one colour or it shows no text.
export async function checkNotBlank(page, minTextChars = 20) {
  const text = (await page.evaluate(() => document.body ? document.body.innerText : '')).trim();
  if (text.length < minTextChars) throw new Error(`page shows only ${text.length} characters of text`);
  const colours = await page.evaluate(() => {
    // count distinct colours of elements' computed backgrounds and SVG marks
    const set = new Set();
    for (const el of document.querySelectorAll('*')) {
      const cs = getComputedStyle(el);
      set.add(cs.color); set.add(cs.backgroundColor);
      if (el instanceof SVGElement) { set.add(cs.stroke); set.add(cs.fill); }
    }
    return set.size;
  });
  if (colours < 3) throw new Error(`page uses only ${colours} colours: blank?`);
}

export function assertClean({ problems, outside }, what) {
  const faults = [];
  if (problems.length) faults.push(`${what}: ${problems.length} console problems:\n  ${problems.join('\n  ')}`);
  if (outside.length) faults.push(`${what}: loaded from outside:\n  ${outside.join('\n  ')}`);
  if (faults.length) throw new Error(faults.join('\n'));
}
