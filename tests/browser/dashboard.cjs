//  dashboard.cjs - drive the dashboard in headless Chromium (playwright-core), report as JSON
//
//  usage: node dashboard.cjs URL SCREENSHOT.png [ORDER_URL]
//  With ORDER_URL (a Kite simulator's /_sim/order?...), it POSTs there once the page is live
//  and waits for the order to show in the orders table.
//  Prints one JSON object on stdout with what it saw; tests/e2e/test_dashboard.py decides what
//  passes. playwright-core comes from $PLAYWRIGHT_CORE (a path) or the usual module lookup.
'use strict';
const fs = require ('fs');
const os = require ('os');
const path = require ('path');
const { chromium } = require (process.env.PLAYWRIGHT_CORE || 'playwright-core');

const [url, screenshot, orderUrl] = process.argv.slice (2);
const report = { console_errors: [], page_errors: [], steps: {} };

function lastOf (page, symbol) {
  return page.$eval ('#watch-body tr[data-symbol="' + symbol + '"] td.last', el => el.textContent)
             .catch (() => '');
}

//  Poll fn () until it returns something truthy, or null after timeout ms.
async function until (fn, timeout) {
  const deadline = Date.now () + timeout;
  while (Date.now () < deadline) {
    const value = await fn ();
    if (value)
      return value;
    await new Promise (r => setTimeout (r, 50));
  }
  return null;
}

//  Wait for a row's price to show, then to change: returns [first, changed] or nulls.
async function ticking (page, symbol, timeout) {
  const first = await until (async () => {
    const t = await lastOf (page, symbol);
    return t && t !== '—' ? t : null;
  }, timeout);
  if (!first)
    return [null, null];
  const changed = await until (async () => {
    const t = await lastOf (page, symbol);
    return t && t !== first ? t : null;
  }, timeout);
  return [first, changed];
}

(async () => {
  const profile = fs.mkdtempSync (path.join (os.tmpdir (), 'tickmux-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext (profile, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 900 },
    });
    const page = context.pages () [0] || await context.newPage ();
    page.on ('console', m => { if (m.type () === 'error') report.console_errors.push (m.text ()); });
    page.on ('pageerror', e => report.page_errors.push (String (e)));
    const requests = [];
    page.on ('request', r => requests.push (r.url ()));
    const response = await page.goto (url, { waitUntil: 'load' });
    report.steps.status = response ? response.status () : null;
    report.steps.title = await page.title ();

    //  Prices of the default watchlist show and change
    const [first, changed] = await ticking (page, 'NIFTY-I', 10000);
    report.steps.nifty_first = first;
    report.steps.nifty_changed = changed;

    //  The provider card says CONNECTED
    report.steps.card_state = await until (() => page.$eval ('.card[data-provider="SIM"] .state',
      el => el.textContent).catch (() => null).then (t => t && t.startsWith ('CONNECTED') ? t : null), 10000);

    //  Add a symbol through the form; it ticks
    await page.fill ('#add-symbol', 'TCS');
    await page.click ('#add-form button[type=submit]');
    const [tcsFirst, tcsChanged] = await ticking (page, 'TCS', 15000);
    report.steps.tcs_first = tcsFirst;
    report.steps.tcs_changed = tcsChanged;

    //  Remove one: the row goes
    await page.click ('#watch-body tr[data-symbol="RELIANCE"] button.remove');
    report.steps.reliance_removed = await until (async () =>
      (await page.$ ('#watch-body tr[data-symbol="RELIANCE"]')) === null, 5000);

    //  A rate on the card once /ws/stats has been polled twice
    report.steps.card_rate = await until (() => page.$eval ('.card[data-provider="SIM"] .rate',
      el => el.textContent).catch (() => null).then (t => t && t !== '—' ? t : null), 5000);

    //  An order placed at the broker shows in the orders table
    if (orderUrl) {
      const http = require ('http');
      const placed = await new Promise ((resolve, reject) => {
        const req = http.request (orderUrl, { method: 'POST' }, res => {
          let body = '';
          res.on ('data', chunk => { body += chunk; });
          res.on ('end', () => resolve (JSON.parse (body)));
        });
        req.on ('error', reject);
        req.end ();
      });
      const id = placed.order_id || (placed.data && placed.data.order_id);
      report.steps.order_id = id;
      report.steps.order_status = await until (() => page.$eval (
        '#orders-body tr[data-order="' + id + '"] td.status', el => el.textContent)
        .catch (() => null), 10000);
    }

    //  Nothing was fetched from anywhere but the gateway
    const origin = new URL (url).origin;
    report.steps.foreign_requests = requests.filter (r => !r.startsWith (origin) &&
                                                          !r.startsWith ('ws') && !r.startsWith ('data:'));
    await page.screenshot ({ path: screenshot, fullPage: true });
    report.steps.screenshot = screenshot;
  } catch (e) {
    report.fatal = String (e && e.stack || e);
  } finally {
    if (context)
      await context.close ().catch (() => {});
    fs.rmSync (profile, { recursive: true, force: true });
  }
  process.stdout.write (JSON.stringify (report) + '\n');
}) ();
