// weft.js: a small browser client for weft-edge (docs/protocol.md section 3).
//
// Plain ES module, no build step, no dependencies:
//
//   import { WeftClient } from './weft.js';
//   const weft = new WeftClient();            // ws(s)://<this host>/ws
//   weft.on('event', (ev) => console.log(ev.room, ev.seq, ev.data));
//   weft.on('status', (s) => console.log(s.state));
//   weft.on('subscribed', (s) => { if (s.recovered === false) refetchState(s.room); });
//   weft.subscribe('project:1');               // or subscribe(room, { since: savedCursor })
//   weft.subscribe('agent:*');
//   weft.connect();
//
// The client remembers its rooms and, after a lost connection, reconnects with exponential
// backoff plus jitter (so a restarted edge is not hit by every browser at once) and subscribes
// to them again. For each exact room it keeps a cursor, the (epoch, seq) of the last event it
// processed, and resubscribes with {"since": cursor}, so the edge (any edge) replays exactly the
// events it missed. When that is impossible the edge says so with a "subscribed" frame carrying
// recovered:false (events up to its epoch/seq are gone; refetch the room's state); the cursor
// moves to that position. Patterns (a trailing '*') are live-only and resubscribe plainly.
//
// Batching: the edge may group events of some types into one "batch" frame (docs/protocol.md
// §3 "Batching, coalescing and limits"). This client unpacks it: every event of the batch is
// emitted as an 'event', in order, exactly as if it had come alone, and the cursor moves to the
// batch's to_seq, past events the edge coalesced away (only the newest per key was kept). Ask
// for one frame per event instead with subscribe(room, { batch: false }).
//
// Authentication (docs/security.md): give the client a token, or better a callback that fetches
// one from the application's login service:
//
//   const weft = new WeftClient(undefined, { getToken: async () => (await fetch('/weft-token')).text() });
//
// The token travels in the first frame, {"op":"auth","token":…}, never in the URL (URLs reach
// proxy and server logs). Subscriptions are sent only once the edge answered "authenticated"
// (the edge also joins user:<sub> and global by itself and says so with "subscribed" frames).
// getToken is called before every (re)connect, ahead of the token's expiry (30 s or a tenth of
// its lifetime before "exp", whichever is shorter: the fresh token is sent on the live
// connection, which keeps its rooms), and after the edge closed with 4001 "token expired". Any
// other 4001 (a refused token) gets one more getToken and attempt, then the client gives up:
// a 'status' event with state 'closed', gaveUp: true and the edge's reason. Events
// 'authenticated' (the edge's frame: sub, exp) and 'unauthorized' (a refused token: code,
// message) report the rest. Without token or getToken the client talks to anonymous edges
// (auth = none) as before.

/** The edge's WebSocket URL for a page location: ws(s)://<host>/ws. */
export function defaultUrl(loc = globalThis.location) {
  const scheme = loc && loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc ? loc.host : 'localhost:8080'}/ws`;
}

/** True for a trailing-'*' pattern (live-only: it cannot carry a cursor). */
export function isPattern(room) {
  return room.endsWith('*');
}

const MAX_TIMER = 2 ** 31 - 1; // ms, the longest setTimeout delay

/** Milliseconds from now until a token expiring at exp (unix seconds) should be refreshed:
 *  30 s or a tenth of its remaining lifetime before exp, whichever is shorter; never negative. */
export function refreshDelay(exp, now = Date.now()) {
  const left = exp * 1000 - now;
  return Math.max(0, Math.round(left - Math.min(30000, left / 10)));
}

/** Delay before reconnect attempt n (0-based): base * 2^n capped at max, times 0.5..1 jitter. */
export function backoffDelay(n, base = 250, max = 30000, random = Math.random) {
  const ceiling = Math.min(max, base * 2 ** Math.min(n, 30));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

export class WeftClient {
  /**
   * @param {string} [url] edge endpoint; defaults to defaultUrl()
   * @param {object} [opts] { minDelay: ms (250), maxDelay: ms (30000), WebSocket: constructor,
   *   token: a JWT string, getToken: async () => JWT (preferred: lets the client refresh) }
   */
  constructor(url = defaultUrl(), opts = {}) {
    this.url = url;
    this.minDelay = opts.minDelay ?? 250;
    this.maxDelay = opts.maxDelay ?? 30000;
    this.WebSocketImpl = opts.WebSocket ?? globalThis.WebSocket;
    this.rooms = new Set(); // rooms and patterns to (re)subscribe
    this.cursors = new Map(); // exact room -> { epoch, seq } of the last event processed
    this.unbatched = new Set(); // rooms subscribed with { batch: false }
    this.handlers = new Map(); // event name -> Set of callbacks
    this.ws = null;
    this.state = 'idle'; // idle | connecting | open | closed
    this.attempt = 0; // consecutive failed attempts, for the backoff
    this.timer = null;
    this.wanted = false; // connect() called and close() not since
    this.nextId = 1;
    this.welcome = null; // last welcome frame
    this.token = opts.token ?? null;
    this.getToken = opts.getToken ?? null;
    this.ready = false; // the edge accepts subscriptions on this connection (authenticated or anonymous)
    this.refreshTimer = null;
    this.authRetried = false; // a refused token got its one more getToken
    this.opening = 0; // generation of open(), so a close() during getToken cancels it
    this.fetching = false; // open() is waiting for getToken
    this.refreshedExp = 0; // exp a refresh is scheduled for on this connection
  }

  /** True when the client has a token or a way to get one. */
  get usesAuth() {
    return Boolean(this.token || this.getToken);
  }

  /** Registers fn for 'event', 'status', 'welcome', 'subscribed', 'position', 'unsubscribed', 'error',
   *  'pong', 'batch' (after its events were emitted one by one) or 'message' (every frame).
   *  Returns a function that unregisters it. */
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
    this.authRetried = false; // an explicit connect() (say, with a new token) starts afresh
    if (this.ws || this.timer || this.fetching) return;
    this.open();
  }

  /** A token for the next connection or refresh: getToken's answer, else the static token. */
  async fetchToken() {
    if (!this.getToken) return this.token;
    const token = await this.getToken();
    if (typeof token !== 'string' || token === '') throw new Error('getToken returned no token');
    this.token = token;
    return token;
  }

  async open() {
    const gen = ++this.opening;
    this.timer = null;
    this.setState('connecting', { attempt: this.attempt });
    let token = null;
    if (this.usesAuth) {
      this.fetching = true;
      try {
        token = await this.fetchToken();
      } catch (err) {
        this.fetching = false;
        if (gen !== this.opening || !this.wanted) return;
        this.scheduleReconnect({ reason: `getToken failed: ${err && err.message ? err.message : err}` });
        return;
      }
      this.fetching = false;
      if (gen !== this.opening || !this.wanted) return; // close() while the token was fetched
    }
    let ws;
    try {
      ws = new this.WebSocketImpl(this.url);
    } catch (err) {
      this.scheduleReconnect({ reason: String(err) });
      return;
    }
    this.ws = ws;
    this.ready = false;
    this.refreshedExp = 0;
    ws.onopen = () => {
      this.setState('open');
      // The token goes first: the edge refuses every other op before it.
      if (token) this.send({ op: 'auth', token }, true);
      else this.becomeReady();
    };
    ws.onmessage = (msg) => this.onFrame(msg.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.ready = false;
      this.clearRefresh();
      if (this.wanted && ev.code === 4001) this.onAuthClose(ev);
      else if (this.wanted) this.scheduleReconnect({ code: ev.code, reason: ev.reason });
      else this.setState('closed', { code: ev.code, reason: ev.reason });
    };
    ws.onerror = () => {
      // A close event always follows; reconnecting is decided there.
    };
  }

  /** The connection may carry subscriptions now: send every remembered room once. */
  becomeReady() {
    if (this.ready) return;
    this.ready = true;
    for (const room of this.rooms) this.send(this.subscribeMessage(room));
  }

  /** Close 4001: getToken is asked once more and the client reconnects; when that token is
   *  refused too (before any "authenticated"), it stops: retrying a refused token forever would
   *  only load the edge. */
  onAuthClose(ev) {
    const info = { code: ev.code, reason: ev.reason };
    if (this.getToken && !this.authRetried) {
      this.authRetried = true;
      // An expiry is not a failure of the edge: come back at once with the fresh token.
      if (ev.reason === 'token expired') this.attempt = 0;
      this.scheduleReconnect(info);
    } else {
      this.wanted = false;
      this.setState('closed', { ...info, gaveUp: true });
    }
  }

  clearRefresh() {
    if (this.refreshTimer) {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = null;
    }
  }

  /** Sends a fresh token ahead of exp (unix seconds), when the application can give one. */
  scheduleRefresh(exp) {
    // A refresh that brought no later exp (getToken gave the same token) is not repeated: the
    // edge closes with 4001 "token expired" and the reconnect asks getToken again.
    if (!this.getToken || !exp || exp <= this.refreshedExp) return;
    this.clearRefresh();
    this.refreshedExp = exp;
    const ws = this.ws;
    const delay = refreshDelay(exp);
    if (delay > MAX_TIMER) {
      // setTimeout fires at once beyond 2^31-1 ms (24.8 days): wait in steps.
      this.refreshTimer = setTimeout(() => {
        this.refreshedExp = 0;
        this.scheduleRefresh(exp);
      }, MAX_TIMER);
      return;
    }
    this.refreshTimer = setTimeout(async () => {
      this.refreshTimer = null;
      let token;
      try {
        token = await this.fetchToken();
      } catch (err) {
        // The edge closes with 4001 "token expired" at exp; the reconnect asks again.
        const message = String(err && err.message ? err.message : err);
        this.emit('error', { op: 'error', code: 'token_refresh', message });
        return;
      }
      if (this.ws === ws && this.ready) this.send({ op: 'auth', token }, true);
    }, delay);
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
        // auth: "none" (anonymous edge), "ok" (the upgrade carried a valid token), "required"
        // (our auth frame is on its way, or we have none: the edge will say unauthorized).
        if (msg.auth === 'none') this.becomeReady();
        else if (msg.auth === 'ok') {
          this.becomeReady();
          this.scheduleRefresh(msg.exp);
        } else if (msg.auth === 'required' && !this.usesAuth)
          this.emit('unauthorized', {
            code: 'auth_required',
            message: 'this edge requires a token (token or getToken option)',
          });
        break;
      case 'authenticated':
        this.authRetried = false;
        this.emit('authenticated', msg);
        this.becomeReady();
        this.scheduleRefresh(msg.exp);
        break;
      case 'event':
        // Advance the cursor first, so that handlers (which may save it) see this event in it.
        if (this.rooms.has(msg.room)) this.cursors.set(msg.room, { epoch: msg.epoch, seq: msg.seq });
        this.emit('event', msg);
        break;
      case 'batch': {
        // One frame, many events: emit each as an ordinary event, then move the cursor to the
        // end of the range the batch covers (coalesced events included).
        const tracked = this.rooms.has(msg.room);
        for (const item of msg.events || []) {
          const ev = { op: 'event', room: msg.room, epoch: msg.epoch, ...item };
          if (tracked) this.cursors.set(msg.room, { epoch: msg.epoch, seq: ev.seq });
          this.emit('event', ev);
        }
        if (tracked) this.cursors.set(msg.room, { epoch: msg.epoch, seq: msg.to_seq });
        this.emit('batch', msg);
        break;
      }
      case 'subscribed':
        // recovered:false: events up to (epoch, seq) are gone; the stream continues after it.
        if (msg.recovered === false && this.rooms.has(msg.room))
          this.cursors.set(msg.room, { epoch: msg.epoch, seq: msg.seq });
        // A first subscribe (no "recovered"): the room's position at the edge, when it has one.
        // Every later event follows it, so it is a cursor even before the first event arrives.
        else if (msg.recovered === undefined && Number.isInteger(msg.epoch) &&
                 Number.isInteger(msg.seq) && this.rooms.has(msg.room) &&
                 !isPattern(msg.room) && !this.cursors.has(msg.room))
          this.cursors.set(msg.room, { epoch: msg.epoch, seq: msg.seq });
        this.emit('subscribed', msg);
        break;
      case 'position':
        // A room new to the edge: its position before its first event, so a page that leaves
        // before that event still resumes from here.
        if (this.rooms.has(msg.room) && !isPattern(msg.room) && !this.cursors.has(msg.room))
          this.cursors.set(msg.room, { epoch: msg.epoch, seq: msg.seq });
        this.emit('position', msg);
        break;
      case 'unsubscribed':
        // A refreshed token that no longer allows the room: stop asking for it.
        if (msg.reason === 'forbidden') this.forget(msg.room);
        this.emit(msg.op, msg);
        break;
      case 'error':
        if (msg.code === 'unauthorized' || msg.code === 'auth_required') this.emit('unauthorized', msg);
        // A room the token does not allow would be refused again after every reconnect.
        else if (msg.code === 'forbidden' && msg.room) this.forget(msg.room);
        this.emit(msg.op, msg);
        break;
      case 'pong':
        this.emit(msg.op, msg);
        break;
      default:
        break; // newer edges may add ops; ignore them
    }
  }

  /** Sends obj on the open connection; before it is ready only the auth frame (force) goes. */
  send(obj, force = false) {
    if (!this.ws || this.ws.readyState !== 1 || (!force && !this.ready)) return false;
    if (obj.id === undefined) obj.id = this.nextId++;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  /** The subscribe message for a room: with its cursor as "since" when it has one. */
  subscribeMessage(room) {
    const cursor = isPattern(room) ? undefined : this.cursors.get(room);
    const msg = { op: 'subscribe', room };
    if (this.unbatched.has(room)) msg.batch = false;
    if (cursor) msg.since = { epoch: cursor.epoch, seq: cursor.seq };
    return msg;
  }

  /**
   * Joins a room or a trailing-'*' pattern; remembered across reconnects.
   * @param {object} [opts] { since: { epoch, seq } } a saved cursor to resume an exact room from;
   *   { batch: false } one frame per event instead of batches (the default is batched)
   */
  subscribe(room, opts = {}) {
    this.rooms.add(room);
    if (opts.batch === false) this.unbatched.add(room);
    else this.unbatched.delete(room);
    if (opts.since && !isPattern(room))
      this.cursors.set(room, { epoch: opts.since.epoch, seq: opts.since.seq });
    this.send(this.subscribeMessage(room));
  }

  /** Leaves a room or pattern (and forgets its cursor). */
  unsubscribe(room) {
    this.forget(room);
    this.send({ op: 'unsubscribe', room });
  }

  /** Drops a room from the remembered set (with its cursor and batch setting). */
  forget(room) {
    this.rooms.delete(room);
    this.cursors.delete(room);
    this.unbatched.delete(room);
  }

  /** The cursor of an exact room, { epoch, seq }, or undefined before its first event. */
  cursor(room) {
    const c = this.cursors.get(room);
    return c ? { ...c } : undefined;
  }

  /** Asks the edge for a pong. */
  ping() {
    return this.send({ op: 'ping' });
  }

  /** Closes for good (no reconnect). */
  close() {
    this.wanted = false;
    this.opening += 1; // cancels an open() waiting for getToken
    this.clearRefresh();
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.ws) this.ws.close(1000, 'bye');
    else this.setState('closed', {});
  }
}
