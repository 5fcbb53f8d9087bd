/**
 * Processes for the benchmark: starting and stopping children, reading their CPU time and memory
 * from /proc, and a minimal Chrome DevTools Protocol client for their inspector (forced GC before
 * a memory reading, optional CPU profile).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import WebSocket from 'ws';

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last 64 KB the process printed (stdout and stderr). */
  output(): string;
  /** Resolves with the inspector's ws:// URL once printed (null if it exits first or it was not enabled). */
  readonly inspector: Promise<string | null>;
  /** Resolves on exit. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first stdout line matching `re` (rejects when the process exits first or after timeoutMs). */
  waitForLine(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after graceMs; resolves once exited. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Proc>();

export function startProc(name: string, args: string[], env: Record<string, string>, cwd?: string): Proc {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'], cwd });
  if (child.pid === undefined) throw new Error(`${name}: could not spawn`);
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 65536) out = out.slice(-65536);
  };
  const lineWaiters = new Set<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }>();
  let stdoutBuf = '';
  child.stdout!.on('data', (d: Buffer) => {
    keep(d);
    stdoutBuf += d.toString();
    let nl: number;
    while ((nl = stdoutBuf.indexOf('\n')) >= 0) {
      const line = stdoutBuf.slice(0, nl);
      stdoutBuf = stdoutBuf.slice(nl + 1);
      for (const w of [...lineWaiters]) {
        const m = w.re.exec(line);
        if (m) {
          lineWaiters.delete(w);
          w.resolve(m);
        }
      }
    }
  });
  let resolveInspector: (url: string | null) => void = () => {};
  const inspector = new Promise<string | null>((r) => (resolveInspector = r));
  let stderrBuf = '';
  child.stderr!.on('data', (d: Buffer) => {
    keep(d);
    stderrBuf += d.toString();
    const m = /Debugger listening on (ws:\/\/\S+)/.exec(stderrBuf);
    if (m) resolveInspector(m[1]!);
    if (stderrBuf.length > 4096) stderrBuf = stderrBuf.slice(-1024);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(proc);
      resolveInspector(null);
      resolve({ code, signal });
    }),
  );
  const proc: Proc = {
    name,
    child,
    pid: child.pid,
    output: () => out,
    inspector,
    exited,
    waitForLine(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const w = {
          re,
          resolve: (m: RegExpMatchArray) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          lineWaiters.delete(w);
          reject(new Error(`${name}: no line matching ${re} within ${timeoutMs} ms; output:\n${out.slice(-2000)}`));
        }, timeoutMs);
        lineWaiters.add(w);
        void exited.then(({ code, signal }) => {
          if (!lineWaiters.delete(w)) return;
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code ?? signal}) before printing ${re}; output:\n${out.slice(-2000)}`));
        });
      });
    },
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(proc);
  return proc;
}

/** Stops every child still running (SIGTERM, SIGKILL after graceMs). */
export async function stopAll(graceMs = 5000): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(graceMs)));
}

/** Last resort on process exit: SIGKILL whatever is left, synchronously. */
export function killAllNow(): void {
  for (const p of live) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

const CLK_TCK = 100; // USER_HZ: 100 on every Linux platform Node supports

/**
 * CPU time of a process in ns, all its threads: the sum of /proc/<pid>/task/<tid>/schedstat
 * (nanosecond run time) when the kernel has schedstats, else utime+stime of /proc/<pid>/stat
 * (clock ticks, 10 ms). A reading names its source; only compare readings of the same source.
 */
export function cpuNs(pid: number): { ns: number; source: 'schedstat' | 'stat' } {
  try {
    let sum = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      sum += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    if (Number.isFinite(sum) && sum > 0) return { ns: sum, source: 'schedstat' };
  } catch {
    // no schedstat: fall back to ticks
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name, which is in parentheses and may contain spaces
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  return { ns: (ticks * 1e9) / CLK_TCK, source: 'stat' };
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Requests sent with a number and answered later by it: each waits for its answer, at most `timeoutMs`. */
export class PendingCalls {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  /** Sends with a fresh number (`send`), then resolves with the answer `settle` gives that number. */
  call<T>(send: (id: number) => void, timeoutMs: number, timeoutMessage: string): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(timeoutMessage));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      send(id);
    });
  }

  /** Answers call `id` (ignored when nobody waits for it any more). */
  settle(id: number, outcome: { value: unknown } | { error: Error }): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    if ('error' in outcome) w.reject(outcome.error);
    else w.resolve(outcome.value);
  }

  /** Fails every call still waiting. */
  failAll(error: Error): void {
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
  }
}

/** A Chrome DevTools Protocol session on a process' inspector. */
export class Cdp {
  private readonly pending = new PendingCalls();
  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id === undefined) return;
      this.pending.settle(msg.id, msg.error ? { error: new Error(msg.error.message) } : { value: msg.result });
    });
    socket.on('close', () => this.pending.failAll(new Error('inspector session closed')));
  }

  static connect(url: string, timeoutMs = 5000): Promise<Cdp> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 512 * 1024 * 1024 });
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`inspector ${url}: no connection within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('open', () => {
        clearTimeout(timer);
        resolve(new Cdp(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  call<T = unknown>(method: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    return this.pending.call<T>((id) => this.socket.send(JSON.stringify({ id, method, params })), timeoutMs, `${method}: no answer within ${timeoutMs} ms`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.close();
      setTimeout(() => {
        this.socket.terminate();
        resolve();
      }, 2000).unref();
    });
  }
}

/** Full garbage collection in the process behind `inspectorUrl`; false when that is not possible. */
export async function collectGarbage(inspectorUrl: string | null): Promise<boolean> {
  if (!inspectorUrl) return false;
  let cdp: Cdp | undefined;
  try {
    cdp = await Cdp.connect(inspectorUrl);
    // twice: the first pass may leave what only weak callbacks free
    await cdp.call('HeapProfiler.collectGarbage');
    await cdp.call('HeapProfiler.collectGarbage');
    return true;
  } catch {
    return false;
  } finally {
    await cdp?.close();
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a script belongs: a package of node_modules, node's internals, or the project itself. */
function ownerOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const bench = /\/\.cache\/chat-bench\/(?:baseline-[^/]+\/|build\/)?(.*)$/.exec(url);
  if (bench && !bench[1]!.startsWith('dist/')) return `bench ${bench[1]}`;
  if (bench) return `server ${bench[1]!.slice(5)}`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[1] ?? url.slice(5)}`;
  const m = /\/(dist|src)\/(.*)$/.exec(url);
  return m ? `server ${m[2]}` : url;
}

/** Self time per function and per package, largest first, also per delivery when `deliveries` (made by this process) is given. */
export function summariseProfile(profile: CpuProfile, deliveries = NaN, top = 20): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + dt);
  }
  let total = 0;
  const fns = new Map<string, number>();
  const owners = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') continue;
    total += us;
    const file = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|src)\//, '$1/');
    const key = `${functionName || '(anonymous)'}  ${file ? `${file}:${lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const owner = ownerOf(url, functionName);
    owners.set(owner, (owners.get(owner) ?? 0) + us);
  }
  const perDelivery = (us: number) => (Number.isFinite(deliveries) && deliveries > 0 ? `${(us / deliveries).toFixed(2).padStart(6)} µs/delivery  ` : '');
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %  ${perDelivery(us)}`;
  const lines = [`  busy (not idle) time sampled: ${(total / 1000).toFixed(0)} ms${Number.isFinite(deliveries) ? ` = ${(total / deliveries).toFixed(1)} µs per delivery of this instance` : ''}`, '  by package / area (self time):'];
  for (const [k, us] of [...owners].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`    ${pct(us)}  ${k}`);
  lines.push(`  top ${top} functions (self time):`);
  for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`    ${pct(us)}  ${k}`);
  return lines.join('\n');
}
