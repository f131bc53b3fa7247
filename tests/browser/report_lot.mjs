// The lot report in headless Chromium: every given HTML file renders with
// no console error and nothing loaded from outside, is not blank, has its
// plots (histogram and control-chart SVGs with drawn marks, the Pareto
// bars), its tables, and prints to PDF. Full-page screenshots and PDFs
// are kept in the artefacts directory.
//
//   node report_lot.mjs ARTEFACT_DIR REPORT.html [REPORT.html ...]
import { mkdirSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launch, openPage, checkNotBlank, assertClean } from './lib.mjs';

const [outDir, ...files] = process.argv.slice(2);
if (!outDir || files.length === 0) {
  console.error('usage: node report_lot.mjs ARTEFACT_DIR REPORT.html...');
  process.exit(64);
}
mkdirSync(outDir, { recursive: true });

function need(cond, msg) {
  if (!cond) throw new Error(msg);
}

const browser = await launch();
try {
  for (const file of files) {
    const name = basename(file, '.html');
    const t = await openPage(browser);
    await t.page.goto(pathToFileURL(resolve(file)).href, { waitUntil: 'load' });
    await checkNotBlank(t.page, 200);
    const facts = await t.page.evaluate(() => {
      const svgs = [...document.querySelectorAll('svg.plot, figure svg')];
      const marks = (sel) => document.querySelectorAll(sel).length;
      const size = (el) => { const r = el.getBoundingClientRect(); return r.width * r.height; };
      return {
        plots: svgs.length,
        emptyPlots: svgs.filter((s) => size(s) < 100).length,
        hist: marks('svg.plot[id^="hist"]'),
        charts: marks('svg.plot[id^="xc"]'),
        ranges: marks('svg.plot[id^="rc"]'),
        histBars: marks('svg.plot[id^="hist"] .bar'),
        chartLines: marks('svg.plot[id^="xc"] .ln, svg.plot[id^="rc"] .ln'),
        tiles: marks('.tile [data-fig]'),
        cpk: marks('[data-fig$=" cpk"]'),
        failedRows: marks('table.failed tbody tr'),
        links: [...document.querySelectorAll('table.failed a')].map((a) => a.getAttribute('href')),
        title: document.title,
      };
    });
    console.log(`${name}: ${JSON.stringify({ ...facts, links: facts.links.length })}`);
    need(facts.title === 'Lot report', `${name}: title ${facts.title}`);
    need(facts.plots >= 3, `${name}: only ${facts.plots} plots`);
    need(facts.emptyPlots === 0, `${name}: ${facts.emptyPlots} plots of no size`);
    need(facts.hist >= 1 && facts.charts === facts.hist && facts.ranges === facts.hist,
      `${name}: histograms ${facts.hist}, charts ${facts.charts}, range charts ${facts.ranges}`);
    need(facts.histBars === facts.hist, `${name}: ${facts.histBars} histograms with bars`);
    need(facts.chartLines >= 2 * facts.charts, `${name}: ${facts.chartLines} chart lines`);
    need(facts.tiles === 8, `${name}: ${facts.tiles} summary figures`);
    need(facts.cpk === facts.hist, `${name}: ${facts.cpk} Cpk cells`);
    need(facts.links.every((h) => /^[^/:]+\.html$/.test(h)),
      `${name}: run links not relative: ${facts.links.slice(0, 3)}`);
    const png = `${outDir}/${name}.png`;
    const pdf = `${outDir}/${name}.pdf`;
    await t.page.screenshot({ path: png, fullPage: true });
    await t.page.emulateMedia({ media: 'print' });
    await t.page.pdf({ path: pdf, format: 'A4', printBackground: true });
    need(statSync(pdf).size > 10000, `${name}: PDF of ${statSync(pdf).size} bytes`);
    assertClean(t, name);
    await t.context.close();
    console.log(`${name}: ok (${png}, ${pdf})`);
  }
} finally {
  await browser.close();
}
