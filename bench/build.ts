/** What the benchmark runs, built first: the server (npm run build), a baseline revision, and its own processes as plain JS. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { BENCH, CACHE, note, ROOT } from './settings.js';

export interface Built {
  /** node's arguments. */
  readonly args: string[];
  /** How it was built, for the header. */
  readonly how: string;
}

/** `npm run build`; on failure the servers run from source with tsx (reported in the header). */
export function buildServer(): Built {
  const started = Date.now();
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status === 0 && existsSync(join(ROOT, 'dist', 'main.js'))) {
    return { args: [join(ROOT, 'dist', 'main.js')], how: `node dist/main.js (npm run build: ${((Date.now() - started) / 1000).toFixed(1)} s)` };
  }
  note(`npm run build failed, running the servers from source with tsx instead:\n${(r.stdout ?? '') + (r.stderr ?? '') || String(r.error)}`);
  return { args: ['--import', 'tsx', join(ROOT, 'src', 'main.ts')], how: 'tsx src/main.ts (npm run build FAILED: numbers include no build)' };
}

/**
 * BENCH_BASELINE=<git revision>: that revision's src/ (git archive: the work tree and the index are
 * left alone) built with this checkout's node_modules, run as a third target for before/after figures.
 * BENCH_BASELINE=<path/to/main.js>: that entry point instead (a copy of an earlier dist/, say).
 */
export function buildBaseline(rev: string): Built {
  if (/\.[cm]?js$/.test(rev)) {
    if (!existsSync(rev)) throw new Error(`BENCH_BASELINE: no file ${rev}`);
    return { args: [rev], how: `node ${rev}` };
  }
  const git = (args: string[], input?: Buffer) => execFileSync('git', args, { cwd: ROOT, maxBuffer: 1 << 28, ...(input ? { input } : {}) });
  const sha = git(['rev-parse', '--verify', `${rev}^{commit}`]).toString().trim();
  const dir = join(CACHE, `baseline-${sha.slice(0, 12)}`);
  const main = join(dir, 'dist', 'main.js');
  if (!existsSync(main)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-x', '-C', dir], { input: git(['archive', '--format=tar', sha, 'src', 'tsconfig.json']) });
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    const r = tsc(['-p', join(dir, 'tsconfig.json')], dir);
    if (r.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`BENCH_BASELINE: src/ of ${rev} (${sha.slice(0, 12)}) does not build on its own:\n${r.stdout}${r.stderr}`);
    }
  }
  return { args: [main], how: `node dist/main.js of ${rev} = ${sha.slice(0, 12)} (src/ of that commit, built with this checkout's node_modules)` };
}

/**
 * Compiles the reference and the load client (and what they share) to plain JS, so that they run
 * on bare node, like dist/. Each file is transpiled on its own (types are checked by
 * `npm run typecheck`, not here). Returns the directory.
 */
export function buildBench(): string {
  const out = join(CACHE, 'build');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  for (const name of ['load-client', 'reference-broadcaster', 'reference-frames', 'shared']) {
    const source = readFileSync(join(BENCH, `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
      fileName: `${name}.ts`,
    });
    writeFileSync(join(out, `${name}.js`), outputText);
  }
  return out;
}

function tsc(args: string[], cwd: string) {
  return spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), ...args], { cwd, encoding: 'utf8' });
}
