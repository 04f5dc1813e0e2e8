// weft.js: a small browser client for weft-edge (docs/protocol.md section 2).
//
// Plain ES module, no build step, no dependencies:
//
//   import { WeftClient } from './weft.js';
//   const weft = new WeftClient();            // ws(s)://<this host>/ws
//   weft.on('event', (ev) => console.log(ev.room, ev.seq, ev.data));
//   weft.on('status', (s) => console.log(s.state));
//   weft.subscribe('project:*');
//   weft.connect();
//
// The client remembers its rooms and, after a lost connection, reconnects with exponential
// backoff plus jitter (so a restarted edge is not hit by every browser at once) and subscribes
// to them again.

/** The edge's WebSocket URL for a page location: ws(s)://<host>/ws. */
export function defaultUrl(loc = globalThis.location) {
  const scheme = loc && loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc ? loc.host : 'localhost:8080'}/ws`;
}

/** Delay before reconnect attempt n (0-based): base * 2^n capped at max, times 0.5..1 jitter. */
export function backoffDelay(n, base = 250, max = 30000, random = Math.random) {
  const ceiling = Math.min(max, base * 2 ** Math.min(n, 30));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

export class WeftClient {
  /**
   * @param {string} [url] edge endpoint; defaults to defaultUrl()
   * @param {object} [opts] { minDelay: ms (250), maxDelay: ms (30000), WebSocket: constructor }
   */
  constructor(url = defaultUrl(), opts = {}) {
    this.url = url;
    this.minDelay = opts.minDelay ?? 250;
    this.maxDelay = opts.maxDelay ?? 30000;
    this.WebSocketImpl = opts.WebSocket ?? globalThis.WebSocket;
    this.rooms = new Set(); // rooms and patterns to (re)subscribe
    this.handlers = new Map(); // event name -> Set of callbacks
    this.ws = null;
    this.state = 'idle'; // idle | connecting | open | closed
    this.attempt = 0; // consecutive failed attempts, for the backoff
    this.timer = null;
    this.wanted = false; // connect() called and close() not since
    this.nextId = 1;
    this.welcome = null; // last welcome frame
  }

  /** Registers fn for 'event', 'status', 'welcome', 'subscribed', 'unsubscribed', 'error',
   *  'pong' or 'message' (every frame). Returns a function that unregisters it. */
  on(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(fn);
    return () => this.off(name, fn);
  }

  off(name, fn) {
    const set = this.handlers.get(name);
    if (set) set.delete(fn);
  }

  emit(name, arg) {
    const set = this.handlers.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(arg);
      } catch (err) {
        console.error(`weft: ${name} handler failed`, err);
      }
    }
  }

  setState(state, extra = {}) {
    this.state = state;
    this.emit('status', { state, ...extra });
  }

  /** Opens the connection (and keeps reopening it until close()). */
  connect() {
    this.wanted = true;
    if (this.ws || this.timer) return;
    this.open();
  }

  open() {
    this.timer = null;
    this.setState('connecting', { attempt: this.attempt });
    let ws;
    try {
      ws = new this.WebSocketImpl(this.url);
    } catch (err) {
      this.scheduleReconnect({ reason: String(err) });
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.setState('open');
      for (const room of this.rooms) this.send({ op: 'subscribe', room });
    };
    ws.onmessage = (msg) => this.onFrame(msg.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.wanted) this.scheduleReconnect({ code: ev.code, reason: ev.reason });
      else this.setState('closed', { code: ev.code, reason: ev.reason });
    };
    ws.onerror = () => {
      // A close event always follows; reconnecting is decided there.
    };
  }

  scheduleReconnect(info) {
    const delay = backoffDelay(this.attempt, this.minDelay, this.maxDelay);
    this.attempt += 1;
    this.setState('closed', { ...info, retryIn: delay });
    this.timer = setTimeout(() => this.open(), delay);
  }

  onFrame(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return; // the edge only sends JSON; ignore anything else
    }
    this.emit('message', msg);
    switch (msg.op) {
      case 'welcome':
        this.attempt = 0; // a healthy connection resets the backoff
        this.welcome = msg;
        this.emit('welcome', msg);
        break;
      case 'event':
        this.emit('event', msg);
        break;
      case 'subscribed':
      case 'unsubscribed':
      case 'pong':
      case 'error':
        this.emit(msg.op, msg);
        break;
      default:
        break; // newer edges may add ops; ignore them
    }
  }

  send(obj) {
    if (!this.ws || this.ws.readyState !== 1) return false;
    if (obj.id === undefined) obj.id = this.nextId++;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  /** Joins a room or a trailing-'*' pattern; remembered across reconnects. */
  subscribe(room) {
    this.rooms.add(room);
    this.send({ op: 'subscribe', room });
  }

  /** Leaves a room or pattern. */
  unsubscribe(room) {
    this.rooms.delete(room);
    this.send({ op: 'unsubscribe', room });
  }

  /** Asks the edge for a pong. */
  ping() {
    return this.send({ op: 'ping' });
  }

  /** Closes for good (no reconnect). */
  close() {
    this.wanted = false;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.ws) this.ws.close(1000, 'bye');
    else this.setState('closed', {});
  }
}
