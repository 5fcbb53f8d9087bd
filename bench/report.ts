/** What the benchmark prints: the header, a table per scenario, and a summary of every row at the end. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { CONNECT_PROBE_MS, type ConnectResult, type DeliveryResult, type MemoryResult } from './scenarios.js';
import { ROOT, say } from './settings.js';

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const ratio = (a: number, b: number, digits = 2) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(digits)}x` : '-');

function table(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const HEADER = ['', 'deliveries/s', 'lost', 'duplicate', 'out-of-order', 'p50 ms', 'p99 ms', 'CPU µs/delivery', 'CPU vs ref'];

/** One row per scenario, document and target, printed at the end (or when the run is cut short). */
const summary: string[][] = [];
let summaryPrinted = false;

function deliveryRow(label: string, r: DeliveryResult, ref: DeliveryResult | undefined): string[] {
  const f = r.finish;
  // at a fixed rate deliveries/s is the offered load, the same for every target: not a capacity
  const rate = r.spec.mode.kind === 'rate' ? `(${int(r.deliveriesPerSecond)})` : int(r.deliveriesPerSecond);
  const cpuRatio = ref && ref !== r ? ratio(r.cpuUsPerDelivery, ref.cpuUsPerDelivery) : '';
  return [label, rate, int(f.lost), int(f.duplicate), int(f.outOfOrder), fmt(f.latencyMs.p50), fmt(f.latencyMs.p99), fmt(r.cpuUsPerDelivery), cpuRatio];
}

/** One scenario with one document: a row per target, with its CPU per delivery as a ratio to the reference's. */
export function printDelivery(results: readonly DeliveryResult[]): void {
  const first = results[0];
  if (!first) return;
  const { spec } = first;
  say(`\n${spec.title}; ${spec.document.label}`);
  const ref = results.find((r) => r.kind === 'reference');
  say(table(HEADER, results.map((r) => deliveryRow(r.kind, r, ref))));
  if (ref && spec.mode.kind === 'max') {
    for (const r of results) if (r !== ref) say(`  ${r.kind}/reference: deliveries/s ${ratio(r.deliveriesPerSecond, ref.deliveriesPerSecond)}, p50 ${ratio(r.finish.latencyMs.p50, ref.finish.latencyMs.p50)}, p99 ${ratio(r.finish.latencyMs.p99, ref.finish.latencyMs.p99)}`);
  }
  for (const r of results) {
    summary.push(deliveryRow(`${spec.scenario} ${spec.document.name} ${r.kind}`, r, ref));
    const f = r.finish;
    const extras = Object.entries(r.extra)
      .map(([k, v]) => `${k} ${int(v)}`)
      .join(', ');
    say(
      `  ${r.kind}: ${int(r.open.opened)} subscribers${r.open.failed ? ` (${r.open.failed} failed to open)` : ''}, ` +
        `${int(r.sent)} messages sent in ${fmt(r.sendSeconds, 2)} s (${int(r.sent / r.sendSeconds)}/s)` +
        `${r.sendErrors ? `, ${r.sendErrors} send errors (${r.firstSendError})` : ''}; ` +
        `${int(f.deliveries)} deliveries, last ${fmt(Number.isFinite(f.lastNs) ? (f.lastNs - f.firstNs) / 1e9 : NaN, 2)} s after the first; ` +
        `latency max ${fmt(f.latencyMs.max)} ms; instances used ${fmt(r.cores, 2)} cores over ${fmt(r.windowSeconds, 2)} s; ` +
        `load client ${fmt(r.clientUsPerDelivery)} µs/delivery; Redis (all of it) ${fmt(r.redisUsPerDelivery, 2)} µs/delivery; ` +
        `a send alone (the history, before anyone subscribed) ${fmt(r.sendUs, 0)} µs of instance CPU; ` +
        `other work on the machine ${fmt(Math.max(0, r.otherCores), 2)} cores` +
        `${f.unexpected ? `; ${f.unexpected} unexpected` : ''}${f.ended !== 'complete' ? `; stopped waiting: ${f.ended}` : ''}` +
        `${Object.keys(f.closes).length ? `; closed by peer ${JSON.stringify(f.closes)}` : ''}` +
        `${f.subscriptionEnds ? `; ${f.subscriptionEnds} subscriptions ended by the peer` : ''}` +
        `${r.probe.missing ? `; ${r.probe.missing} never confirmed subscribed` : ''}` +
        `${r.probe.ended ? `; ${r.probe.ended} subscriptions ended by the peer before the run` : ''}${extras ? `; ${extras}` : ''}`,
    );
  }
}

const median = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : NaN;
};

/** Connect+subscribe times per document and target (medians of the rounds); the resuming documents as a ratio to the basic one. */
export function printConnect(n: number, rounds: number, results: readonly ConnectResult[]): void {
  if (results.length === 0) return;
  say(
    `\nScenario 5: ${n} subscribers connect and subscribe to one room at once (resuming ones each from its own cursor, up to 10 messages back); ` +
      `median of ${rounds} rounds; instances CPU = their CPU time meanwhile, the live messages sent every ${CONNECT_PROBE_MS} ms included`,
  );
  const groups = new Map<string, ConnectResult[]>();
  for (const r of results) {
    const k = `${r.document.name} ${r.kind}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const liveOf = (doc: string, kind: string) => median((groups.get(`${doc} ${kind}`) ?? []).map((r) => r.liveMs));
  const header = ['', 'acked+subscribe sent ms', 'all live ms', 'rounds', 'vs basic', 'vs reference', 'instances CPU ms', 'CPU vs basic'];
  const rows = [...groups].map(([k, rs]) => {
    const { document, kind } = rs[0]!;
    const live = median(rs.map((r) => r.liveMs));
    const basic = liveOf('basic', kind);
    const ref = liveOf(document.name, 'reference');
    const cpu = median(rs.map((r) => r.cpuMs));
    const basicCpu = median((groups.get(`basic ${kind}`) ?? []).map((r) => r.cpuMs));
    return [
      k,
      fmt(median(rs.map((r) => r.openMs)), 0),
      fmt(live, 0),
      rs.map((r) => fmt(r.liveMs, 0)).join('/'),
      document.name !== 'basic' ? ratio(live, basic) : '',
      kind !== 'reference' ? ratio(live, ref) : '',
      fmt(cpu, 0),
      document.name !== 'basic' ? ratio(cpu, basicCpu) : '',
    ];
  });
  say(table(header, rows));
  for (const r of results) {
    if (r.open.failed || r.probe.missing || r.probe.ended) {
      say(`  ${r.document.name} ${r.kind}: ${r.open.failed} failed to open, ${r.probe.missing} never live, ${r.probe.ended} ended by the peer${r.probe.firstEnd ? ` (${r.probe.firstEnd})` : ''}`);
    }
  }
  for (const [k, rs] of groups) {
    const { document, kind } = rs[0]!;
    const live = median(rs.map((r) => r.liveMs));
    const vsBasic = document.name !== 'basic' ? `, ${ratio(live, liveOf('basic', kind))} of basic` : '';
    summary.push([`5 ${k}`, '', '', '', '', '', '', '', '', `connect+subscribe ${fmt(live, 0)} ms${vsBasic}`]);
  }
}

/** RSS growth per connection: after a forced GC when that was possible. */
const perConn = (r: MemoryResult) => (r.before.gc && r.after.gc ? r.rssPerConn : r.rssPerConnNoGc);

export function printMemory(title: string, results: readonly MemoryResult[]): void {
  if (results.length === 0) return;
  say(`\n${title}`);
  const ref = results.find((r) => r.kind === 'reference');
  const rows = results.map((r) => [
    r.kind,
    fmt(perConn(r) / 1024),
    fmt(perConn(r) / 1024 / r.subscriptionsPerConnection),
    ref && ref !== r ? ratio(perConn(r), perConn(ref)) : '',
  ]);
  say(table(['', 'KB per connection', 'KB per subscription', 'vs reference'], rows));
  for (const r of results) {
    summary.push([`4 web page ${r.kind}`, '', '', '', '', '', '', '', '', `${fmt(perConn(r) / 1024 / r.subscriptionsPerConnection)} KB/subscription`]);
    const mb = (b: number) => fmt(b / 1048576);
    const kb = (b: number) => fmt(b / 1024);
    const gc = r.before.gc && r.after.gc;
    say(
      `  ${r.kind}: ${int(r.open.opened)} connections of ${r.subscriptionsPerConnection} subscriptions${r.open.failed ? ` (${r.open.failed} failed)` : ''}` +
        `${r.probe.missing ? ` (${r.probe.missing} never confirmed subscribed)` : ''}${r.probe.ended ? ` (${r.probe.ended} subscriptions ended by the peer)` : ''}; sums over the two instances` +
        (gc
          ? `, after a forced full GC: RSS ${mb(r.before.rssGc)} -> ${mb(r.after.rssGc)} MB = ${kb(r.rssPerConn)} KB/conn, ` +
            `V8 heap used ${mb(r.before.heapGc)} -> ${mb(r.after.heapGc)} MB = ${kb(r.heapPerConn)} KB/conn; before that GC (garbage included): `
          : ' (no forced GC possible: garbage included): ') +
        `RSS ${kb(r.rssPerConnNoGc)} KB/conn, heap ${kb(r.heapPerConnNoGc)} KB/conn`,
    );
  }
}

export function printSummary(): void {
  if (summaryPrinted || summary.length === 0) return;
  summaryPrinted = true;
  say(
    '\nSummary (CPU = CPU time of the two instances per delivered message, sends included; deliveries/s in parentheses = the fixed offered load, not a capacity)',
  );
  say(table(['scenario document target', ...HEADER.slice(1), ''], summary));
  say(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

export function machineInfo(): string[] {
  const lines: string[] = [];
  lines.push(`date:     ${new Date().toISOString()}`);
  try {
    lines.push(`machine:  ${execFileSync('uname', ['-a'], { encoding: 'utf8' }).trim()}`);
  } catch {
    lines.push(`machine:  ${process.platform} ${process.arch}`);
  }
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // not Linux
  }
  lines.push(`cpu:      ${model}, ${cpus().length} logical CPUs; memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);
  lines.push(`node:     ${process.version}`);
  const [load1] = loadavg();
  lines.push(
    `load:     ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1/5/15 min averages before the run)` +
      (load1! > cpus().length * 1.5
        ? `: the machine is BUSY; each scenario says how many cores other work took during it (throughput and latency suffer first)`
        : ''),
  );
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    lines.push(`project:  commit ${head} (plus the working tree's changes)`);
  } catch {
    // not a git checkout
  }
  return lines;
}

export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m?.[1] === 'unlimited' ? Infinity : Number(m?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}
