// lib.mjs: what the browser tests share: child processes with log files, free loopback ports,
// bounded waits, and the headless Chromium they drive (Debian's /usr/bin/chromium through
// playwright-core).
//
// A test creates one Harness; every child it starts logs to <dir>/<name>.log, and
// harness.finish() kills what is left, prints every log when the test failed, and removes the
// directory otherwise (WEFT_BROWSER_KEEP=1 keeps it).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = process.env.WEFT_CHROMIUM || '/usr/bin/chromium';
export const STEP_MS = 20000; // bound of every single wait

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The value of environment variable name; exits 2 when unset (run through ctest). */
export function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`browser test: ${name} is not set (run through ctest, which sets it)`);
    process.exit(2);
  }
  return v;
}

/** The Weft binaries named (router, edge, sim, pub, token, haproxy) from WEFT_<NAME>_BIN. */
export function needBins(...names) {
  return Object.fromEntries(names.map((n) => [n, need(`WEFT_${n.toUpperCase()}_BIN`)]));
}

/** playwright-core's chromium, or exit 1 with a hint when npm ci was not run. */
export async function loadChromium() {
  try {
    return (await import('playwright-core')).chromium;
  } catch (err) {
    console.error('browser test: playwright-core is missing; run "npm ci" in tests/browser', err.message);
    process.exit(1);
  }
}

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
export async function freePort() {
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

/** Prints "ok - what" or throws. */
export function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

/** Polls fn() every 50 ms until it returns something truthy; throws after ms with what. */
export async function waitFor(fn, what, ms = STEP_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

export class Harness {
  /** @param {string} name prefix of the scratch directory */
  constructor(name) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `weft-${name}-`));
    this.children = [];
  }

  /** Starts a child with stdout+stderr in <dir>/<name>.log; opts.stdin 'pipe' gives it a pipe. */
  start(name, argv, opts = {}) {
    const log = path.join(this.dir, `${name}.log`);
    const fd = fs.openSync(log, 'a');
    const child = spawn(argv[0], argv.slice(1), {
      stdio: [opts.stdin || 'ignore', fd, fd],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
    fs.closeSync(fd);
    const entry = { name, child, log, exit: null };
    child.on('exit', (code, signal) => { entry.exit = signal ? `signal ${signal}` : code; });
    this.children.push(entry);
    return entry;
  }

  /** Waits until the child's log contains text. */
  async waitLog(entry, text) {
    const deadline = Date.now() + STEP_MS;
    while (Date.now() < deadline) {
      if (fs.existsSync(entry.log) && fs.readFileSync(entry.log, 'utf8').includes(text)) return;
      if (entry.exit !== null) throw new Error(`${entry.name} exited (${entry.exit}) before "${text}"`);
      await sleep(50);
    }
    throw new Error(`${entry.name} did not log "${text}" within ${STEP_MS} ms`);
  }

  /** Runs a command to completion; resolves with its exit code. */
  run(argv) {
    return new Promise((resolve) => {
      const entry = this.start(path.basename(argv[0]) + '-' + this.children.length, argv);
      entry.child.on('exit', (code) => resolve(code));
    });
  }

  /** Stops a child with sig (SIGTERM) and returns its exit code ('killed' if it had to be). */
  async stop(entry, sig = 'SIGTERM') {
    if (entry.exit !== null) return entry.exit;
    entry.child.kill(sig);
    const deadline = Date.now() + 15000;
    while (entry.exit === null && Date.now() < deadline) await sleep(50);
    if (entry.exit === null) {
      entry.child.kill('SIGKILL');
      return 'killed';
    }
    return entry.exit;
  }

  /** Waits until a TCP connect to 127.0.0.1:port succeeds. */
  async waitPort(port) {
    await waitFor(() => new Promise((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => { sock.destroy(); resolve(true); });
      sock.once('error', () => resolve(false));
    }), `port ${port}`);
  }

  printLogs() {
    for (const { name, log } of this.children) {
      console.error(`----- log of ${name} -----`);
      if (fs.existsSync(log)) console.error(fs.readFileSync(log, 'utf8').trimEnd());
      console.error(`----- end of ${name} -----`);
    }
  }

  /** Headless Chromium with a throwaway profile in the scratch directory. */
  async launch(chromium) {
    const profile = fs.mkdtempSync(path.join(this.dir, 'chromium-profile-'));
    return chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1200, height: 800 },
    });
  }

  /** The end of a test: closes the browser context, finish(), prints the summary line and
   *  exits 0, or 1 when failed. */
  async conclude(failed, context, label = 'browser test') {
    if (context) await context.close().catch(() => {});
    this.finish(failed);
    console.log(failed ? `${label}: 0 passed, 1 failed` : `${label}: 1 passed, 0 failed`);
    process.exit(failed ? 1 : 0);
  }

  /** Kills what still runs; prints the logs when failed; removes the directory unless kept. */
  finish(failed) {
    for (const { child, exit } of this.children) if (exit === null) child.kill('SIGKILL');
    if (failed) this.printLogs();
    if (!failed && !process.env.WEFT_BROWSER_KEEP) fs.rmSync(this.dir, { recursive: true, force: true });
    else console.error(`logs kept in ${this.dir}`);
  }
}
