// Run reports in headless Chromium (issue 12): every *.html in DIR is
// opened from file:, must render something (not blank), log no console
// error, load nothing from outside, show its SVG plots at a non-zero
// size, and print to PDF (A4). A full-page PNG screenshot and the PDF of
// each are kept beside it in DIR (the test's artefacts).
//   node tests/browser/report_run.mjs DIR
import { readdirSync, writeFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launch, openPage, checkNotBlank, assertClean } from './lib.mjs';

const dir = resolve(process.argv[2] || '.');
const files = readdirSync(dir).filter((f) => f.endsWith('.html')).sort();
if (files.length === 0) throw new Error(`no report in ${dir}`);

const browser = await launch();
let failed = 0;
try {
  for (const f of files) {
    const path = join(dir, f);
    const stem = f.replace(/\.html$/, '');
    const ctx = await openPage(browser, { viewport: { width: 1200, height: 900 } });
    try {
      await ctx.page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
      await checkNotBlank(ctx.page, 200);
      const plots = await ctx.page.evaluate(() =>
        [...document.querySelectorAll('svg.plot')].map((s) => {
          const r = s.getBoundingClientRect();
          return { w: r.width, h: r.height, marks: s.querySelectorAll('path,rect').length };
        }));
      const banner = await ctx.page.evaluate(() => {
        const b = document.querySelector('.banner .word');
        return b ? b.textContent : null;
      });
      if (!banner) throw new Error(`${f}: no outcome banner`);
      for (const p of plots) {
        if (!(p.w > 100 && p.h > 100)) throw new Error(`${f}: a plot of ${p.w}x${p.h} px`);
        if (p.marks < 3) throw new Error(`${f}: a plot with nothing drawn`);
      }
      // a record with captures on disk has plots (pruned ones: per-stroke plots)
      const expectPlots = !/sensor-unplug/.test(f);
      if (expectPlots && plots.length === 0) throw new Error(`${f}: no SVG plot`);
      await ctx.page.screenshot({ path: join(dir, `${stem}.png`), fullPage: true });
      await ctx.page.emulateMedia({ media: 'print' });
      const pdf = await ctx.page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
      writeFileSync(join(dir, `${stem}.pdf`), pdf);
      if (pdf.length < 10000) throw new Error(`${f}: PDF of ${pdf.length} bytes`);
      assertClean(ctx, f);
      console.log(`ok ${f}: ${banner}, ${plots.length} plots, ${statSync(path).size} bytes, ` +
                  `PDF ${pdf.length} bytes`);
    } catch (e) {
      failed++;
      console.error(`FAIL ${f}: ${e.message}`);
    } finally {
      await ctx.context.close();
    }
  }
} finally {
  await browser.close();
}
if (failed) {
  console.error(`${failed} of ${files.length} reports failed`);
  process.exit(1);
}
console.log(`all ${files.length} reports render cleanly`);
