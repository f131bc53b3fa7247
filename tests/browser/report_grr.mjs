// A gauge R&R study report (rigctl grr analyse --html) in headless
// Chromium: it must render (not blank), log no console error, load
// nothing from outside, show one appraiser-by-part chart per measurement
// with a marker per reading, and print the figures `rigctl grr analyse
// --json` computed (6 significant digits, as the report writes them).
// A full-page PNG screenshot and the PDF are kept beside the report.
//   node tests/browser/report_grr.mjs REPORT.html ANALYSE.json READINGS
// READINGS: parts x operators x trials, the markers each chart must hold.
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launch, openPage, checkNotBlank, assertClean } from './lib.mjs';

const [html, json, readings] = [resolve(process.argv[2]), process.argv[3], Number(process.argv[4])];
const results = JSON.parse(readFileSync(json, 'utf8')).results;
const stem = html.replace(/\.html$/, '');
const browser = await launch();
try {
  const ctx = await openPage(browser, { viewport: { width: 1200, height: 900 } });
  await ctx.page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
  await checkNotBlank(ctx.page, 200);
  const page = await ctx.page.evaluate(() => [...document.querySelectorAll('main section')].map((s) => ({
    title: s.querySelector('h2') ? s.querySelector('h2').textContent : '',
    banner: s.querySelector('.banner .word') ? s.querySelector('.banner .word').textContent : null,
    comp: [...s.querySelectorAll('table.comp tbody tr, table.comp tr')]
      .map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim()))
      .filter((r) => r.length),
    plots: [...s.querySelectorAll('svg.plot')].map((svg) => {
      const r = svg.getBoundingClientRect();
      // markers are one path per series, one subpath ("M") per marker
      const marks = [...svg.querySelectorAll('path.mk')]
        .reduce((n, m) => n + (m.getAttribute('d').match(/M/g) || []).length, 0);
      return { w: r.width, h: r.height, marks };
    }),
  })).filter((s) => s.title));
  if (page.length !== results.length) {
    throw new Error(`${page.length} measurement sections, ${results.length} measurements analysed`);
  }
  const close = (text, v) => {
    const t = Number(text);
    const want = Number(v.toPrecision(6));
    return Number.isFinite(t) && Math.abs(t - want) <= 1e-9 + 1e-5 * Math.abs(want);
  };
  results.forEach((r, i) => {
    const s = page[i];
    if (!s.title.startsWith(r.measurement)) throw new Error(`section ${i}: "${s.title}", expected ${r.measurement}`);
    if (!s.banner) throw new Error(`${r.measurement}: no verdict banner`);
    const names = ['ev', 'av', 'ipo', 'grr', 'pv', 'tv'];
    if (s.comp.length !== names.length) throw new Error(`${r.measurement}: ${s.comp.length} component rows`);
    names.forEach((n, k) => {
      if (!close(s.comp[k][1], r.components[n].sd)) {
        throw new Error(`${r.measurement} ${n}: page ${s.comp[k][1]}, analysis ${r.components[n].sd}`);
      }
    });
    if (s.plots.length !== 1) throw new Error(`${r.measurement}: ${s.plots.length} charts`);
    const p = s.plots[0];
    if (!(p.w > 100 && p.h > 100)) throw new Error(`${r.measurement}: a chart of ${p.w}x${p.h} px`);
    // one per reading, and one per operator in the legend
    if (p.marks !== readings + r.operators) {
      throw new Error(`${r.measurement}: ${p.marks} markers for ${readings} readings and ${r.operators} operators`);
    }
  });
  await ctx.page.screenshot({ path: `${stem}.png`, fullPage: true });
  await ctx.page.emulateMedia({ media: 'print' });
  const pdf = await ctx.page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
  writeFileSync(`${stem}.pdf`, pdf);
  assertClean(ctx, html);
  console.log(`ok ${html}: ${results.length} measurements, ${statSync(html).size} bytes, PDF ${pdf.length} bytes`);
  await ctx.context.close();
} finally {
  await browser.close();
}
