// auth_page.mjs: the edge's live page signs in with a JWT, in a real browser.
//
// Starts weft-router, a weft-edge that requires tokens (an HS256 secret made here) and weft-sim;
// mints a token with weft-token (sub 42, rooms project:*) and opens the page the way
// deploy/demo.sh prints it, http://127.0.0.1:<port>/?rooms=project:*,agent:*#token=<jwt>. Checks:
// the page shows user 42 and takes the token out of the address bar; project:* and global rows
// arrive, agent:* (not in the claim) is refused and none of its rows shows; an event for user:42
// shows, one for user:43 never does. A second page without a token asks for one, and connects
// once the token is typed into its form. Exits 0 on success, 1 on failure (logs printed).
//
// Environment (set by ctest): WEFT_ROUTER_BIN, WEFT_EDGE_BIN, WEFT_SIM_BIN, WEFT_PUB_BIN,
// WEFT_TOKEN_BIN, WEFT_WWW_DIR.

import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { Harness, check, freePort, loadChromium, need, needBins, sleep, STEP_MS } from './lib.mjs';

const chromium = await loadChromium();
const bins = needBins('router', 'edge', 'sim', 'pub', 'token');
const www = need('WEFT_WWW_DIR');
const h = new Harness('browser-auth');

/** The text of every row in the page's event table: [{room, data}]. */
const rowsOf = (page) => page.$$eval('#events tr', (trs) => trs.map((tr) => ({
  room: tr.dataset.room, data: tr.cells[4] ? tr.cells[4].textContent : '',
})));

let context;
let failed = false;
try {
  const secret = path.join(h.dir, 'jwt.secret');
  fs.writeFileSync(secret, crypto.randomBytes(48).toString('base64'), { mode: 0o600 });
  const token = execFileSync(bins.token, ['--secret-file', secret, '--sub', '42',
    '--rooms', 'project:*', '--ttl', '600'], { encoding: 'utf8' }).trim();
  check(token.split('.').length === 3, 'weft-token prints a JWT');

  const [intake, fanout, history, http] =
    [await freePort(), await freePort(), await freePort(), await freePort()];
  const endpoint = `tcp://127.0.0.1:${intake}`;
  const router = h.start('weft-router', [bins.router, '--intake', endpoint,
    '--fanout', `tcp://127.0.0.1:${fanout}`, '--history', `tcp://127.0.0.1:${history}`]);
  await h.waitLog(router, 'ready:');
  const edge = h.start('weft-edge', [bins.edge, '--port', String(http), '--bind', '127.0.0.1',
    '--router', `tcp://127.0.0.1:${fanout}`, '--history', `tcp://127.0.0.1:${history}`,
    '--www', www, '--edge-id', 'edge-auth', '--jwt-secret-file', secret]);
  await h.waitLog(edge, 'ready:');
  h.start('weft-sim', [bins.sim, '--endpoint', endpoint, '--agents', '4', '--projects', '2',
    '--rate', '10', '--seed', '5']);

  context = await h.launch(chromium);
  const page = context.pages()[0] || await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const forbidden = [];
  page.on('console', (m) => { if (/forbidden/.test(m.text())) forbidden.push(m.text()); });

  const base = `http://127.0.0.1:${http}/?rooms=project:*,agent:*`;
  await page.goto(`${base}#token=${token}`, { timeout: STEP_MS });
  await page.waitForFunction(() => document.getElementById('user').textContent === '42',
    null, { timeout: STEP_MS });
  check(true, '#user shows 42 (authenticated)');
  check(!page.url().includes('token='), `the token left the address bar (${page.url()})`);
  check(await page.$eval('#status', (e) => e.dataset.state) === 'open', '#status is open');

  await page.waitForFunction(() => {
    const rooms = [...document.querySelectorAll('#events tr')].map((tr) => tr.dataset.room);
    return rooms.some((r) => r.startsWith('project:')) && rooms.includes('global');
  }, null, { timeout: STEP_MS });
  check(true, 'rows of project:* and global arrive');
  check(forbidden.length >= 1, `agent:* is refused as forbidden (${forbidden[0]})`);

  // user:43 first, then user:42: when 42's row is there, 43's (sent before it) would be too.
  const marker = `m${process.pid}`;
  for (const sub of ['43', '42']) {
    const code = await h.run([bins.pub, '--endpoint', endpoint, `user:${sub}`, 'browser.marker',
      JSON.stringify({ marker: `${marker}-${sub}` })]);
    check(code === 0, `weft-pub into user:${sub} exits 0`);
  }
  await page.waitForFunction((m) => [...document.querySelectorAll('#events tr')]
    .some((tr) => tr.dataset.room === 'user:42' && tr.cells[4].textContent.includes(m)),
  `${marker}-42`, { timeout: STEP_MS });
  check(true, 'the event for user:42 shows (auto-joined room)');
  await sleep(500);
  const rows = await rowsOf(page);
  check(!rows.some((r) => r.room === 'user:43' || r.data.includes(`${marker}-43`)),
    'nothing of user:43 shows');
  check(!rows.some((r) => r.room.startsWith('agent:')), `no agent:* row among ${rows.length}`);
  check(pageErrors.length === 0, `no page errors (${pageErrors.join(' | ')})`);

  // A fresh tab without a token (sessionStorage is per tab): the form, then the typed token.
  const page2 = await context.newPage();
  await page2.goto(base, { timeout: STEP_MS });
  await page2.waitForSelector('#login:not([hidden])', { timeout: STEP_MS });
  check(true, 'without a token the page asks for one');
  check(await page2.$$eval('#events tr', (trs) => trs.length) === 0, 'and shows no event');
  await page2.fill('#token', token);
  await page2.click('#login button');
  await page2.waitForFunction(() => document.getElementById('user').textContent === '42',
    null, { timeout: STEP_MS });
  await page2.waitForFunction(() => document.querySelectorAll('#events tr').length > 0,
    null, { timeout: STEP_MS });
  check(true, 'with the typed token it signs in and receives events');
} catch (err) {
  failed = true;
  console.error(`FAIL: ${err.stack || err}`);
}
await h.conclude(failed, context, 'browser auth test');
