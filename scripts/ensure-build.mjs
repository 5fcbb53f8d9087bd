// `npm start` runs this first: builds dist/ when it is missing or older than src/ (and TypeScript is installed).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((t, e) => {
    const p = join(dir, e.name);
    return Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }, 0);

const built = join(root, 'dist', 'main.js');
const stale = !existsSync(built) || (existsSync(join(root, 'src')) && newest(join(root, 'src')) > statSync(built).mtimeMs);
if (stale) {
  let tsc;
  try {
    tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    if (!existsSync(built)) {
      console.error('dist/ is missing and TypeScript is not installed: run `npm ci` (with dev dependencies) or `npm run build` first.');
      process.exit(1);
    }
    process.exit(0);
  }
  console.error('building dist/ ...');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
}
