// demo_page.mjs: the edge's live page works in a real browser.
//
// Starts weft-router, weft-edge and weft-sim on free loopback ports (binaries from the
// environment CTest sets: WEFT_ROUTER_BIN, WEFT_EDGE_BIN, WEFT_SIM_BIN, WEFT_PUB_BIN,
// WEFT_WWW_DIR), opens http://127.0.0.1:<edge port>/ in Debian's headless Chromium and checks
// what a person would see: the status turns "open", the edge id shows, the event count grows,
// rows of the simulated rooms appear, and an event published with weft-pub shows up as a row.
// Prints the observed latency: weft-pub start -> row on the page, and the page's own
// publish-timestamp -> render latency. Exits 0 on success, 1 on failure (logs printed).
//
// Run: cd tests/browser && npm ci && node demo_page.mjs   (normally through ctest -L browser)
// WEFT_BROWSER_KEEP=1 keeps the logs and a screenshot of the page (they are kept on failure).

import path from 'node:path';

import { Harness, check, freePort, loadChromium, need, needBins, STEP_MS } from './lib.mjs';

const EDGE_ID = 'edge-browser';

const chromium = await loadChromium();
const bins = needBins('router', 'edge', 'sim', 'pub');
const www = need('WEFT_WWW_DIR');
const h = new Harness('browser');
const dir = h.dir;
const start = (name, argv) => h.start(name, argv);
const waitLog = (entry, text) => h.waitLog(entry, text);
const run = (argv) => h.run(argv);
const stop = (entry) => h.stop(entry);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

let context;
let failed = false;
try {
  const [intake, fanout, history, http] =
    [await freePort(), await freePort(), await freePort(), await freePort()];
  const endpoint = `tcp://127.0.0.1:${intake}`;
  const router = start('weft-router', [bins.router, '--intake', endpoint,
    '--fanout', `tcp://127.0.0.1:${fanout}`, '--history', `tcp://127.0.0.1:${history}`,
    '--log-level', 'info']);
  await waitLog(router, 'ready:');
  const edge = start('weft-edge', [bins.edge, '--port', String(http), '--bind', '127.0.0.1',
    '--router', `tcp://127.0.0.1:${fanout}`, '--history', `tcp://127.0.0.1:${history}`,
    '--www', www, '--edge-id', EDGE_ID,
    '--log-level', 'info', '--auth', 'none']);
  await waitLog(edge, 'ready:');
  const sim = start('weft-sim', [bins.sim, '--endpoint', endpoint, '--agents', '4',
    '--projects', '2', '--rate', '5', '--seed', '11']);

  context = await h.launch(chromium);
  const page = context.pages()[0] || await context.newPage();
  const consoleErrors = [];
  // Browsers ask for /favicon.ico by themselves; a 404 for it is not the page's fault.
  const badResponses = [];
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) badResponses.push(`${r.status()} ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  const url = `http://127.0.0.1:${http}/`;
  const resp = await page.goto(url, { timeout: STEP_MS });
  check(resp && resp.status() === 200, `GET ${url} answers 200`);
  await page.waitForSelector('#status[data-state="open"]', { timeout: STEP_MS });
  check(true, '#status shows "open"');
  await page.waitForFunction((id) => document.getElementById('edge').textContent === id,
    EDGE_ID, { timeout: STEP_MS });
  check(true, `#edge shows ${EDGE_ID}`);

  // Live events from the simulator: the count grows and rows of its rooms appear.
  await page.waitForFunction(() => Number(document.getElementById('count').textContent) >= 5,
    null, { timeout: STEP_MS });
  const count1 = Number(await page.textContent('#count'));
  await sleep(2000);
  const count2 = Number(await page.textContent('#count'));
  check(count2 > count1, `#count grows (${count1} -> ${count2} in 2 s)`);
  const rows = await page.$$eval('#events tr', (trs) => trs.map((tr) => ({
    room: tr.dataset.room, seq: Number(tr.dataset.seq), latency: Number(tr.cells[3].textContent),
  })));
  check(rows.length > 0, `#events has ${rows.length} rows`);
  check(rows.every((r) => /^(agent:|project:|global$)/.test(r.room)),
    'every row is from agent:*, project:* or global');
  check(rows.every((r) => Number.isInteger(r.seq) && r.seq >= 1), 'every row has a seq >= 1');

  // One event through weft-pub, timed from the CLI's start to its row on the page.
  const marker = `m${process.pid}-${Date.now()}`;
  const t0 = Date.now();
  const code = await run([bins.pub, '--endpoint', endpoint, 'global', 'browser.marker',
    JSON.stringify({ marker })]);
  check(code === 0, 'weft-pub exits 0');
  const handle = await page.waitForFunction((m) => {
    for (const tr of document.querySelectorAll('#events tr')) {
      if (tr.cells[4] && tr.cells[4].textContent.includes(m)) return Number(tr.cells[3].textContent);
    }
    return false;
  }, marker, { timeout: STEP_MS, polling: 'raf' });
  const endToEnd = Date.now() - t0;
  const pageLatency = await handle.jsonValue();
  check(true, 'the weft-pub event shows on the page');

  const simLatency = median(rows.map((r) => r.latency).filter((x) => Number.isFinite(x)));
  console.log(`latency: weft-pub start -> row on page ${endToEnd} ms (includes starting the CLI); ` +
    `publish timestamp -> page ${pageLatency.toFixed(1)} ms; ` +
    `median over ${rows.length} simulated events ${simLatency.toFixed(1)} ms`);

  await page.screenshot({ path: path.join(dir, 'page.png') });
  check(consoleErrors.length === 0, `no console errors (${consoleErrors.join(' | ')})`);
  check(badResponses.length === 0, `no failed requests (${badResponses.join(' | ')})`);

  await context.close();
  context = null;
  check(await stop(sim) !== 'killed', 'weft-sim stops on SIGTERM');
  check(await stop(edge) === 0, 'weft-edge exits 0 on SIGTERM');
  check(await stop(router) === 0, 'weft-router exits 0 on SIGTERM');
  if (process.env.WEFT_BROWSER_KEEP) console.log(`screenshot: ${path.join(dir, 'page.png')}`);
} catch (err) {
  failed = true;
  console.error(`FAIL: ${err.stack || err}`);
}
// Keeps the logs and the screenshot only when they are needed (or asked for).
await h.conclude(failed, context);
