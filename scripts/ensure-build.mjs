// `npm start` runs this first: builds dist/ when it is missing or older than src/ (and TypeScript
// is installed), and the web page (web/dist/, served at /) when it is missing or older than web/
// and client/ (and Vite is installed). A page that cannot be built is not fatal: the API starts,
// and / says how to build the page.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const resolve = (module) => createRequire(join(root, 'package.json')).resolve(module);
const newest = (path) =>
  statSync(path).isDirectory() ? readdirSync(path).reduce((t, f) => Math.max(t, newest(join(path, f))), 0) : statSync(path).mtimeMs;
/** Whether `built` is missing or older than any of `sources` (those that exist). */
const stale = (built, sources) => {
  if (!existsSync(built)) return true;
  const present = sources.map((s) => join(root, s)).filter(existsSync);
  return present.length > 0 && Math.max(...present.map(newest)) > statSync(built).mtimeMs;
};

// --- the server
const server = join(root, 'dist', 'main.js');
if (stale(server, ['src'])) {
  let tsc;
  try {
    tsc = resolve('typescript/bin/tsc');
  } catch {
    if (!existsSync(server)) {
      console.error('dist/ is missing and TypeScript is not installed: run `npm ci` (with dev dependencies) or `npm run build` first.');
      process.exit(1);
    }
  }
  if (tsc) {
    console.error('building dist/ ...');
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  }
}

// --- the web page (only where its sources are: an image without them serves what it was built with)
const page = join(root, 'web', 'dist', 'index.html');
const webLock = join(root, 'web', '.build-lock');
const pageSources = ['web/index.html', 'web/src', 'web/vite.config.ts', 'client'];
if (existsSync(join(root, 'web', 'index.html')) && stale(page, pageSources)) {
  let vite;
  try {
    // vite's exports name no bin: found next to its package.json
    vite = join(dirname(resolve('vite/package.json')), 'bin', 'vite.js');
  } catch {
    if (!existsSync(page)) console.error('The web page (web/) is not built and Vite is not installed: `npm ci`, then `npm run web:build`. The API starts without it.');
  }
  if (vite && lockWebBuild()) {
    try {
      if (stale(page, pageSources)) {
        console.error('building the web page into web/dist/ ...');
        execFileSync(process.execPath, [vite, 'build', '--config', join(root, 'web', 'vite.config.ts'), '--logLevel', 'warn'], { stdio: 'inherit', cwd: root });
      }
    } catch {
      console.error('The web page did not build (see above): `npm run web:build` shows why. The API starts without it.');
    } finally {
      rmSync(webLock, { recursive: true, force: true });
    }
  }
}

/**
 * One build of the page at a time (several instances started at once, or the browser tests, share
 * web/dist): waits up to two minutes for another one; false when it never finished.
 */
function lockWebBuild() {
  for (let waited = 0; waited < 120_000; waited += 200) {
    try {
      mkdirSync(webLock);
      return true;
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  console.error(`Another build of the web page holds ${webLock}: remove it if no build is running.`);
  return false;
}
