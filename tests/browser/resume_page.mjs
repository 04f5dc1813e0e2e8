// resume_page.mjs: weft.js in a real browser resumes through HAProxy without a gap.
//
// Starts weft-router, two weft-edges and HAProxy (the shipped deploy/haproxy.cfg, addresses from
// the environment) on free loopback ports, opens the dashboard through HAProxy in headless
// Chromium, and in the page starts a WeftClient (the edge's own /weft.js) on an exact room.
// weft-pub publishes 400 numbered events at 50/s; after the first 100 reach the page, the edge
// the client is connected to is SIGKILLed. weft.js must reconnect through HAProxy to the other
// edge, re-subscribe with its cursor, get recovered:true, and end up with every event exactly
// once and in order: seqs consecutive, data.n advancing with them, up to the last one published.
// Prints how long the page was without events. Exits 0 on success, 1 on failure (logs printed).
//
// Run: cd tests/browser && npm ci && node resume_page.mjs   (normally through ctest -L browser)

import { Harness, check, freePort, loadChromium, need, needBins, sleep, waitFor } from './lib.mjs';

const ROOM = 'br:resume';
const TOTAL = 400;
const EVERY_MS = 20;

const bins = needBins('router', 'edge', 'pub', 'haproxy');
const haproxyCfg = need('WEFT_HAPROXY_CFG');
const www = need('WEFT_WWW_DIR');
const chromium = await loadChromium();
const h = new Harness('browser-resume');

let context;
let failed = false;
try {
  const [intake, fanout, history, lb, e1, e2] = [await freePort(), await freePort(),
    await freePort(), await freePort(), await freePort(), await freePort()];
  const endpoint = `tcp://127.0.0.1:${intake}`;
  const router = h.start('weft-router', [bins.router, '--intake', endpoint,
    '--fanout', `tcp://127.0.0.1:${fanout}`, '--history', `tcp://127.0.0.1:${history}`,
    '--log-level', 'info']);
  await h.waitLog(router, 'ready:');
  const edges = {};
  for (const [id, port] of [['edge-1', e1], ['edge-2', e2]]) {
    edges[id] = h.start(id, [bins.edge, '--port', String(port), '--bind', '127.0.0.1',
      '--router', `tcp://127.0.0.1:${fanout}`, '--history', `tcp://127.0.0.1:${history}`,
      '--www', www, '--edge-id', id, '--log-level', 'info', '--auth', 'none']);
    await h.waitLog(edges[id], 'ready:');
  }
  const haproxy = h.start('haproxy', [bins.haproxy, '-db', '-f', haproxyCfg], {
    env: { WEFT_HTTP_BIND: `127.0.0.1:${lb}`, WEFT_EDGE1: `127.0.0.1:${e1}`, WEFT_EDGE2: `127.0.0.1:${e2}` },
  });
  await h.waitPort(lb);

  context = await h.launch(chromium);
  const page = context.pages()[0] || await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const resp = await page.goto(`http://127.0.0.1:${lb}/`, { timeout: 20000 });
  check(resp && resp.status() === 200, 'the dashboard loads through HAProxy');

  // A second client in the page, on an exact room, recording everything it gets.
  await page.evaluate(async (room) => {
    const { WeftClient } = await import('/weft.js');
    const w = { events: [], subscribed: [], edges: [], lastAt: 0, longestQuiet: 0 };
    window.resumeTest = w;
    const c = new WeftClient(undefined, { minDelay: 100, maxDelay: 2000 });
    c.on('welcome', (m) => w.edges.push(m.edge));
    c.on('subscribed', (m) => { if (m.room === room) w.subscribed.push(m); });
    c.on('event', (ev) => {
      if (ev.room !== room) return;
      const now = performance.now();
      if (w.lastAt) w.longestQuiet = Math.max(w.longestQuiet, now - w.lastAt);
      w.lastAt = now;
      w.events.push([ev.epoch, ev.seq, ev.data.n]);
    });
    c.subscribe(room);
    c.connect();
  }, ROOM);
  const state = () => page.evaluate(() => window.resumeTest);
  await waitFor(async () => (await state()).subscribed.length >= 1, 'the first "subscribed"');
  const firstEdge = (await state()).edges[0];
  check(firstEdge === 'edge-1' || firstEdge === 'edge-2', `the page's client is on ${firstEdge}`);
  // The room's first subscriber on that edge: give the subscription time to reach the router.
  await sleep(500);

  // A steady stream through weft-pub's stdin.
  const pub = h.start('weft-pub', [bins.pub, '--endpoint', endpoint, '--timeout-ms', '20000', '-'],
    { stdin: 'pipe' });
  let sent = 0;
  const feeder = (async () => {
    for (let n = 1; n <= TOTAL; n++) {
      pub.child.stdin.write(JSON.stringify({ room: ROOM, type: 'browser.resume', data: { n } }) + '\n');
      sent = n;
      await sleep(EVERY_MS);
    }
    pub.child.stdin.end();
  })();

  await waitFor(async () => (await state()).events.length >= 100, '100 events on the page');
  const killedAt = sent;
  check(await h.stop(edges[firstEdge], 'SIGKILL') === 'signal SIGKILL', `${firstEdge} SIGKILLed at event ${killedAt}`);
  await feeder;
  await waitFor(() => pub.exit !== null, 'weft-pub to finish', 30000);
  check(pub.exit === 0, 'weft-pub exits 0 (every event acknowledged)');
  await waitFor(async () => {
    const ev = (await state()).events;
    return ev.length && ev[ev.length - 1][2] === TOTAL;
  }, `event n=${TOTAL} on the page`, 30000);
  await sleep(300);

  const w = await state();
  const otherEdge = firstEdge === 'edge-1' ? 'edge-2' : 'edge-1';
  check(w.edges.length >= 2 && w.edges[w.edges.length - 1] === otherEdge,
    `weft.js reconnected through HAProxy to ${otherEdge} (welcomes: ${w.edges.join(', ')})`);
  const resumes = w.subscribed.slice(1);
  check(resumes.length >= 1 && resumes.every((s) => s.recovered === true),
    `every resume answered recovered:true (${JSON.stringify(resumes)})`);
  const ev = w.events;
  const problems = [];
  for (let i = 1; i < ev.length; i++) {
    const [epoch, seq, n] = ev[i];
    const [pEpoch, pSeq, pN] = ev[i - 1];
    if (epoch !== pEpoch || seq !== pSeq + 1 || n !== pN + 1) problems.push(`${pSeq}->${seq} (n ${pN}->${n})`);
  }
  check(problems.length === 0, `events consecutive, no gap, no duplicate (${problems.slice(0, 5).join(', ')})`);
  check(ev[0][2] === ev[0][1] && ev[ev.length - 1][1] === TOTAL,
    `seq 1..${TOTAL} as published (first ${ev[0][1]}, last ${ev[ev.length - 1][1]}, ${ev.length} events)`);
  check(pageErrors.length === 0, `no page errors (${pageErrors.join(' | ')})`);
  console.log(`resume: the page went ${w.longestQuiet.toFixed(0)} ms without an event across the SIGKILL ` +
    `(events every ${EVERY_MS} ms)`);

  await context.close();
  context = null;
  check(await h.stop(edges[otherEdge]) === 0, `${otherEdge} exits 0 on SIGTERM`);
  check(await h.stop(router) === 0, 'weft-router exits 0 on SIGTERM');
  await h.stop(haproxy);
} catch (err) {
  failed = true;
  console.error(`FAIL: ${err.stack || err}`);
}
await h.conclude(failed, context, 'browser resume test');
