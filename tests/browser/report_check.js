// report_check.js - opens a `muppy report` page in headless Chromium
// (Debian's, driven by playwright-core; no browser download) and walks it
// as a person would: reads the first leak suspect, clicks its "explore",
// finds the suspect's holder among the referrers, opens the holder's
// referrers and its referents (a group of one kind, opened), clicks a copy
// button, and takes a screenshot.  Prints what it found as one JSON object
// on stdout; tests/integration/test_report.py asserts on it.  Any page
// error, console error or request that is not the file itself is reported.
//
//   node report_check.js REPORT.html SCREENSHOT.png
'use strict';
const path = require('path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.MUPPY_CHROMIUM || '/usr/lib/chromium/chromium';

async function main() {
  const [report, shot] = process.argv.slice(2);
  const url = 'file://' + path.resolve(report);
  const out = { errors: [], requests: [] };
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('pageerror', (e) => out.errors.push('pageerror: ' + e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') out.errors.push('console: ' + m.text());
    });
    page.on('request', (r) => { if (r.url() !== url) out.requests.push(r.url()); });
    await page.goto(url, { waitUntil: 'load' });
    out.title = await page.title();
    out.h1 = await page.textContent('h1');
    out.charts = await page.locator('svg.chart').count();
    const sus = page.locator('#suspects .suspect').first();
    out.suspects = await page.locator('#suspects .suspect').count();
    out.holder = await sus.locator('code.holder').textContent();
    out.what = await sus.locator('.what').textContent();
    out.count = await sus.locator('.count').textContent();

    await sus.locator('button.explore').click();
    const root = page.locator('#tree > ul > li.node').first();
    await root.waitFor();
    out.root_kind = await root.locator(':scope > .row .kind').textContent();
    const refs = root.locator(':scope > ul[data-list="r"] > li');
    await refs.first().waitFor();
    out.referrers = await refs.locator(':scope > .row').allTextContents();
    out.referrer_paths = await refs.locator(':scope > .npath').allTextContents();

    // The holder: the referrer whose path is the suspect's pattern
    // without its last [*].
    const want = out.holder.replace(/\[\*\]$/, '');
    const n = await refs.count();
    let holder = null;
    for (let i = 0; i < n; i++) {
      const p = refs.nth(i).locator(':scope > .npath');
      if ((await p.count()) && (await p.textContent()) === want) holder = refs.nth(i);
    }
    out.holder_found = holder !== null;
    if (holder) {
      await holder.locator(':scope > .row button[data-list="r"]').click();
      const up = holder.locator(':scope > ul[data-list="r"] > li > .row');
      await up.first().waitFor();
      out.holder_referrers = await up.allTextContents();
      await holder.locator(':scope > .row button[data-list="f"]').click();
      const down = holder.locator(':scope > ul[data-list="f"] > li');
      await down.first().waitFor();
      out.holder_referents = await down.locator(':scope > .row').allTextContents();
      const group = holder.locator(':scope > ul[data-list="f"] > li.group').first();
      if (await group.count()) {
        await group.locator(':scope > .row').click();
        const members = group.locator(':scope > ul > li');
        await members.first().waitFor();
        out.group_members = await members.allTextContents();
      }
    }

    const copy = sus.locator('button.copy').first();
    out.copy_text = await copy.getAttribute('data-copy');
    await copy.click();
    await page.waitForFunction(
      (b) => b.textContent === 'copied', await copy.elementHandle(),
      { timeout: 5000 }).then(() => { out.copied = true; },
      () => { out.copied = false; });
    await page.screenshot({ path: shot, fullPage: true });
    out.screenshot = shot;
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write('report_check: ' + (e && e.stack || e) + '\n');
  process.exit(1);
});
