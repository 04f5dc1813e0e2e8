// weft_client.mjs: weft.js's cursor rules in Node, with a fake WebSocket (no browser, no edge):
// a first subscription takes the position from "subscribed" or from a later "position" frame,
// never over a cursor it already has; events and recovered:false move it; a reconnect
// resubscribes with "since" from it; patterns never carry one. Then authentication, on fake
// timers: the token goes in the first frame and subscriptions only after "authenticated"; a
// fresh token is sent ahead of exp on the same connection; a 4001 "token expired" close gets a
// new token and a reconnect; another 4001 one more try, then the client gives up; a static token
// cannot be refreshed. Exits 1 on the first failure.
import assert from 'node:assert/strict';
import { mock } from 'node:test';
import { WeftClient, refreshDelay } from '../../edge/www/weft.js';

// A WebSocket that records what the client sends and lets the test push frames or close it.
class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = 1;
    this.sent = [];
    FakeSocket.all.push(this);
    queueMicrotask(() => this.onopen && this.onopen());
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  push(obj) {
    this.onmessage({ data: JSON.stringify(obj) });
  }
  close() {
    this.readyState = 3;
  }
  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose({ code, reason });
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

const c = new WeftClient('ws://edge.test/ws', { WebSocket: FakeSocket, minDelay: 1, maxDelay: 2 });
c.connect();
await tick();
const ws = FakeSocket.all[0];
c.subscribe('project:1');
c.subscribe('project:2');
c.subscribe('agent:*');
assert.deepEqual(ws.sent.map((m) => m.since), [undefined, undefined, undefined]);

// project:1: the edge knew the room, the answer carries its position.
ws.push({ op: 'subscribed', room: 'project:1', epoch: 9, seq: 41, id: 1 });
assert.deepEqual(c.cursor('project:1'), { epoch: 9, seq: 41 });
// project:2: new to the edge, the answer has none; the "position" frame brings it.
ws.push({ op: 'subscribed', room: 'project:2', id: 2 });
assert.equal(c.cursor('project:2'), undefined);
ws.push({ op: 'position', room: 'project:2', epoch: 9, seq: 0 });
assert.deepEqual(c.cursor('project:2'), { epoch: 9, seq: 0 });
// Never over a cursor the client has, and never for a room it did not join or a pattern.
ws.push({ op: 'event', room: 'project:2', epoch: 9, seq: 1, type: 't', ts: 1, data: {} });
ws.push({ op: 'position', room: 'project:2', epoch: 9, seq: 0 });
assert.deepEqual(c.cursor('project:2'), { epoch: 9, seq: 1 });
ws.push({ op: 'position', room: 'project:3', epoch: 9, seq: 5 });
assert.equal(c.cursor('project:3'), undefined);
ws.push({ op: 'position', room: 'agent:*', epoch: 9, seq: 5 });
assert.equal(c.cursor('agent:*'), undefined);
// recovered:false moves a cursor to where the stream continues.
ws.push({ op: 'subscribed', room: 'project:1', recovered: false, epoch: 10, seq: 7, reason: 'epoch_changed' });
assert.deepEqual(c.cursor('project:1'), { epoch: 10, seq: 7 });

// A reconnect resubscribes each exact room from its cursor, the pattern without one.
ws.drop();
await tick();
await tick();
const ws2 = FakeSocket.all[1];
assert.ok(ws2, 'the client reconnected');
const again = Object.fromEntries(ws2.sent.map((m) => [m.room, m.since]));
assert.deepEqual(again['project:1'], { epoch: 10, seq: 7 });
assert.deepEqual(again['project:2'], { epoch: 9, seq: 1 });
assert.equal(again['agent:*'], undefined);
c.close();

// --- authentication -----------------------------------------------------------------------
assert.equal(refreshDelay(100, 0), 90000); // 100 s left: a tenth before exp
assert.equal(refreshDelay(1000, 0), 970000); // 1000 s left: 30 s before exp
assert.equal(refreshDelay(10, 20000), 0); // already past: at once

mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 });
// Lets promise callbacks (getToken, the fake socket's open) run between timer steps.
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};
const nowS = () => Math.floor(Date.now() / 1000);

let issued = 0;
const a = new WeftClient('ws://edge.test/ws', {
  WebSocket: FakeSocket,
  minDelay: 1,
  maxDelay: 2,
  getToken: async () => `tok-${++issued}`,
});
const seen = { authenticated: [], unauthorized: [], status: [] };
for (const name of Object.keys(seen)) a.on(name, (x) => seen[name].push(x));
a.subscribe('project:1');
a.subscribe('agent:*');
const before = FakeSocket.all.length;
a.connect();
await settle();
assert.equal(FakeSocket.all.length, before + 1);
let w = FakeSocket.all.at(-1);
// The token is the first frame, alone, and not in the URL.
assert.equal(w.url, 'ws://edge.test/ws');
assert.deepEqual(w.sent, [{ op: 'auth', token: 'tok-1', id: w.sent[0].id }]);
w.push({ op: 'welcome', edge: 'e1', auth: 'required' });
assert.equal(w.sent.length, 1, 'no subscription before authenticated');
assert.equal(a.subscribe('project:2'), undefined);
assert.equal(a.ping(), false, 'nothing but auth before authenticated');
assert.equal(w.sent.length, 1);
w.push({ op: 'authenticated', sub: '42', exp: nowS() + 600, id: w.sent[0].id });
assert.equal(seen.authenticated.length, 1);
assert.equal(seen.authenticated[0].sub, '42');
assert.deepEqual(w.sent.slice(1).map((m) => [m.op, m.room]),
  [['subscribe', 'project:1'], ['subscribe', 'agent:*'], ['subscribe', 'project:2']]);

// Refresh: 600 s left, so 30 s before exp (at 570 s), on the same connection.
mock.timers.tick(569_000);
await settle();
assert.equal(w.sent.length, 4);
mock.timers.tick(1_000);
await settle();
assert.equal(issued, 2);
assert.deepEqual(w.sent.at(-1), { op: 'auth', token: 'tok-2', id: w.sent.at(-1).id });
assert.equal(FakeSocket.all.at(-1), w, 'a refresh keeps the connection');
w.push({ op: 'authenticated', sub: '42', exp: nowS() + 100 });
assert.equal(w.sent.length, 5, 'a refresh resends no subscription');
// A refreshed token that no longer allows a room: the client stops asking for it.
w.push({ op: 'unsubscribed', room: 'project:2', reason: 'forbidden' });
mock.timers.tick(89_000); // 100 s left: a tenth before exp
await settle();
assert.equal(issued, 2);
mock.timers.tick(1_000);
await settle();
assert.equal(issued, 3);
assert.equal(w.sent.at(-1).token, 'tok-3');

// 4001 "token expired": a new token, a new connection, auth first, then the rooms again.
w.drop(4001, 'token expired');
await settle();
mock.timers.tick(10);
await settle();
assert.equal(issued, 4);
w = FakeSocket.all.at(-1);
assert.deepEqual(w.sent, [{ op: 'auth', token: 'tok-4', id: w.sent[0].id }]);
w.push({ op: 'authenticated', sub: '42', exp: nowS() + 600 });
assert.deepEqual(w.sent.slice(1).map((m) => m.room), ['project:1', 'agent:*']);

// getToken giving an expired token again: one more attempt only, then the client gives up.
const expiring = new WeftClient('ws://edge.test/ws', {
  WebSocket: FakeSocket, minDelay: 1, maxDelay: 2, getToken: async () => 'old' });
const ex = [];
expiring.on('status', (x) => ex.push(x));
expiring.connect();
await settle();
const first = FakeSocket.all.length;
FakeSocket.all.at(-1).drop(4001, 'token expired');
await settle();
mock.timers.tick(10);
await settle();
assert.equal(FakeSocket.all.length, first + 1);
FakeSocket.all.at(-1).drop(4001, 'token expired');
await settle();
mock.timers.tick(60_000);
await settle();
assert.equal(FakeSocket.all.length, first + 1, 'no loop on a token that stays expired');
assert.equal(ex.at(-1).gaveUp, true);

// Another 4001 reason: one more getToken and attempt, then the client gives up.
w.push({ op: 'error', code: 'unauthorized', message: 'bad signature', for: 'auth' });
assert.equal(seen.unauthorized.at(-1).message, 'bad signature');
w.drop(4001, 'bad signature');
await settle();
mock.timers.tick(10);
await settle();
assert.equal(issued, 5);
w = FakeSocket.all.at(-1);
assert.equal(w.sent[0].token, 'tok-5');
const sockets = FakeSocket.all.length;
w.drop(4001, 'bad signature');
await settle();
mock.timers.tick(60_000);
await settle();
assert.equal(issued, 5, 'no third token');
assert.equal(FakeSocket.all.length, sockets, 'no third attempt');
assert.deepEqual(seen.status.at(-1), { state: 'closed', code: 4001, reason: 'bad signature', gaveUp: true });

// A static token cannot be refreshed: sent first, no refresh timer, and expiry ends it.
const s2 = new WeftClient('ws://edge.test/ws', { WebSocket: FakeSocket, minDelay: 1, maxDelay: 2, token: 'static' });
const st = [];
s2.on('status', (x) => st.push(x));
s2.subscribe('global');
s2.connect();
await settle();
w = FakeSocket.all.at(-1);
assert.deepEqual(w.sent.map((m) => m.op), ['auth']);
assert.equal(w.sent[0].token, 'static');
w.push({ op: 'authenticated', sub: '7', exp: nowS() + 100 });
assert.deepEqual(w.sent.map((m) => m.op), ['auth', 'subscribe']);
mock.timers.tick(200_000);
await settle();
assert.equal(w.sent.length, 2, 'no refresh without getToken');
w.drop(4001, 'token expired');
await settle();
mock.timers.tick(60_000);
await settle();
assert.equal(FakeSocket.all.at(-1), w, 'no reconnect with an expired static token');
assert.deepEqual(st.at(-1), { state: 'closed', code: 4001, reason: 'token expired', gaveUp: true });

// An anonymous edge (welcome auth "none") answered before "authenticated": subscribe at once.
const n = new WeftClient('ws://edge.test/ws', { WebSocket: FakeSocket, token: 'x' });
n.subscribe('global');
n.connect();
await settle();
w = FakeSocket.all.at(-1);
w.push({ op: 'welcome', edge: 'e1', auth: 'none' });
assert.deepEqual(w.sent.map((m) => m.op), ['auth', 'subscribe']);
w.push({ op: 'authenticated', sub: 'x', exp: 0 });
assert.deepEqual(w.sent.map((m) => m.op), ['auth', 'subscribe'], 'subscriptions sent once');
n.close();
mock.timers.reset();
console.log('weft_client: ok');
