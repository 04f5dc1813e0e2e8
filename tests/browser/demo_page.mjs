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

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const CHROMIUM = process.env.WEFT_CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 20000; // bound of every single wait
const EDGE_ID = 'edge-browser';

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`demo_page: ${name} is not set (run through ctest, which sets it)`);
    process.exit(2);
  }
  return v;
}

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (err) {
  console.error('demo_page: playwright-core is missing; run "npm ci" in tests/browser', err.message);
  process.exit(1);
}

const bins = {
  router: need('WEFT_ROUTER_BIN'),
  edge: need('WEFT_EDGE_BIN'),
  sim: need('WEFT_SIM_BIN'),
  pub: need('WEFT_PUB_BIN'),
};
const www = need('WEFT_WWW_DIR');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-browser-'));
const children = [];

/** 1 when 127.0.0.1:port can be listened on right now. */
function canListen(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free port below the ephemeral range (as tests/support/ts_proc.c does, and for the same
 *  reason: outgoing connections of parallel tests take their local ports from that range). */
async function freePort() {
  let low = 32768;
  try {
    low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]) || low;
  } catch { /* keep the default */ }
  const base = low > 20000 ? 15000 : 10000;
  for (let i = 0; i < 1000; i++) {
    const port = base + Math.floor(Math.random() * (low - base));
    if (await canListen(port)) return port;
  }
  throw new Error('no free port');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts a child with stdout+stderr in <dir>/<name>.log. */
function start(name, argv) {
  const log = path.join(dir, `${name}.log`);
  const fd = fs.openSync(log, 'a');
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const entry = { name, child, log, exit: null };
  child.on('exit', (code, signal) => { entry.exit = signal ? `signal ${signal}` : code; });
  children.push(entry);
  return entry;
}

/** Waits until the child's log contains text. */
async function waitLog(entry, text) {
  const deadline = Date.now() + STEP_MS;
  while (Date.now() < deadline) {
    if (fs.existsSync(entry.log) && fs.readFileSync(entry.log, 'utf8').includes(text)) return;
    if (entry.exit !== null) throw new Error(`${entry.name} exited (${entry.exit}) before "${text}"`);
    await sleep(50);
  }
  throw new Error(`${entry.name} did not log "${text}" within ${STEP_MS} ms`);
}

/** Runs a command to completion; resolves with its exit code. */
function run(argv) {
  return new Promise((resolve) => {
    const entry = start(path.basename(argv[0]) + '-' + children.length, argv);
    entry.child.on('exit', (code) => resolve(code));
  });
}

/** Stops a daemon with SIGTERM and returns its exit code. */
async function stop(entry) {
  if (entry.exit !== null) return entry.exit;
  entry.child.kill('SIGTERM');
  const deadline = Date.now() + 15000;
  while (entry.exit === null && Date.now() < deadline) await sleep(50);
  if (entry.exit === null) {
    entry.child.kill('SIGKILL');
    return 'killed';
  }
  return entry.exit;
}

function printLogs() {
  for (const { name, log } of children) {
    console.error(`----- log of ${name} -----`);
    if (fs.existsSync(log)) console.error(fs.readFileSync(log, 'utf8').trimEnd());
    console.error(`----- end of ${name} -----`);
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
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
    '--router', `tcp://127.0.0.1:${fanout}`, '--www', www, '--edge-id', EDGE_ID,
    '--log-level', 'info']);
  await waitLog(edge, 'ready:');
  const sim = start('weft-sim', [bins.sim, '--endpoint', endpoint, '--agents', '4',
    '--projects', '2', '--rate', '5', '--seed', '11']);

  const profile = fs.mkdtempSync(path.join(dir, 'chromium-profile-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 800 },
  });
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
  printLogs();
} finally {
  if (context) await context.close().catch(() => {});
  for (const { child, exit } of children) if (exit === null) child.kill('SIGKILL');
}
// Keep the logs and the screenshot only when they are needed (or asked for).
if (!failed && !process.env.WEFT_BROWSER_KEEP) fs.rmSync(dir, { recursive: true, force: true });
console.log(failed ? 'browser test: 0 passed, 1 failed' : 'browser test: 1 passed, 0 failed');
process.exit(failed ? 1 : 0);
