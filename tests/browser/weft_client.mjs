// weft_client.mjs: weft.js's cursor rules in Node, with a fake WebSocket (no browser, no edge):
// a first subscription takes the position from "subscribed" or from a later "position" frame,
// never over a cursor it already has; events and recovered:false move it; a reconnect
// resubscribes with "since" from it; patterns never carry one. Exits 1 on the first failure.
import assert from 'node:assert/strict';
import { WeftClient } from '../../edge/www/weft.js';

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
  drop() {
    this.readyState = 3;
    this.onclose({ code: 1006, reason: '' });
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
console.log('weft_client: ok');
