// `npm test` runs this first (package.json "pretest"): the programs the suites drive must be here
// before any test starts. As root on Debian it installs what is missing with apt-get and prints
// what it installed; anywhere else it stops at once, naming what is missing and the command that
// installs it. No suite skips for want of a program: the suites fail on their own too, saying
// the same (test/support).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { findNginx } from './nginx.js';

/** Where the browser suites find Chromium: Debian's package, unless CHROMIUM_PATH names another. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';
export const chromiumPath = (env: NodeJS.ProcessEnv = process.env): string => env.CHROMIUM_PATH || DEFAULT_CHROMIUM;

export interface Prerequisite {
  readonly name: string;
  /** The Debian packages that provide it; empty when apt-get cannot (a CHROMIUM_PATH of the user's). */
  readonly aptPackages: readonly string[];
  /** Which suites need it, for the message. */
  readonly usedBy: string;
  /** Its version when present and usable, else why not. */
  probe(): { version: string } | { missing: string };
}

/** The first line a command prints of its version (stdout or stderr), or undefined when it does not run. */
function versionLine(bin: string, args: readonly string[]): string | undefined {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) return undefined;
  return `${r.stdout}\n${r.stderr}`.split('\n').find((l) => l.trim())?.trim();
}

export function prerequisites(env: NodeJS.ProcessEnv = process.env): Prerequisite[] {
  const chromium = chromiumPath(env);
  return [
    {
      name: 'redis-server',
      aptPackages: ['redis-server'],
      usedBy: 'Redis for the suites when none answers on REDIS_URL or 127.0.0.1:6379, and the real Redis Clusters of the cluster suites (7.0 or later: sharded pub/sub)',
      probe() {
        const line = versionLine('redis-server', ['--version']);
        const version = line && /v=(\d+\.\d+\.\d+)/.exec(line)?.[1];
        if (!version) return { missing: 'not on PATH' };
        if (Number(version.split('.')[0]) < 7) return { missing: `version ${version} is older than 7.0` };
        return { version };
      },
    },
    {
      name: 'nginx',
      aptPackages: ['nginx'],
      usedBy: 'the nginx end-to-end and rolling-restart suites, which run the committed nginx.conf',
      probe() {
        const bin = findNginx();
        const version = bin && versionLine(bin, ['-v'])?.replace(/^nginx version: nginx\//, '');
        return version ? { version } : { missing: 'not on PATH nor in /usr/sbin' };
      },
    },
    {
      name: chromium === DEFAULT_CHROMIUM ? 'chromium' : `chromium (CHROMIUM_PATH=${chromium})`,
      // with a font for the pages' text (the rest of Chromium's recommends is desktop services)
      aptPackages: chromium === DEFAULT_CHROMIUM ? ['chromium', 'fonts-liberation'] : [],
      usedBy: 'the web page and GraphiQL suites, through playwright-core (no browser download)',
      probe() {
        if (!existsSync(chromium)) return { missing: `${chromium} does not exist` };
        const version = versionLine(chromium, ['--version'])?.match(/\d+(\.\d+)+/)?.[0];
        return version ? { version } : { missing: `${chromium} --version failed` };
      },
    },
    {
      name: 'docker compose',
      // Compose alone: its recommends would bring a Docker engine
      aptPackages: ['docker-compose'],
      usedBy: 'the deploy-files suite, which has `docker compose config` check both compose files (no Docker engine needed)',
      probe() {
        const version = versionLine('docker', ['compose', 'version', '--short']) ?? versionLine('docker-compose', ['version', '--short']);
        return version ? { version } : { missing: 'neither `docker compose` nor `docker-compose` works' };
      },
    },
  ];
}

/** Why this process may not install with apt-get, or undefined when it may. */
export function whyNoInstall(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TEST_PREREQS_INSTALL === 'no') return 'TEST_PREREQS_INSTALL=no';
  if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get')) return 'no apt-get here';
  if (process.getuid?.() !== 0) return 'not running as root';
  return undefined;
}

type Checked = { readonly need: Prerequisite; readonly state: ReturnType<Prerequisite['probe']> };
const check = (needs: readonly Prerequisite[]): Checked[] => needs.map((need) => ({ need, state: need.probe() }));
const missingOf = (checked: readonly Checked[]) => checked.filter((c) => 'missing' in c.state);

const describe = (m: Checked) => `  - ${m.need.name}: ${'missing' in m.state ? m.state.missing : m.state.version}; used by ${m.need.usedBy}`;

/** The lines that stop the run: what is missing, for which suites, and the one command to run. */
export function refusal(missing: readonly Checked[], why: string): string {
  const packages = missing.flatMap((m) => m.need.aptPackages);
  const lines = [
    `npm test needs what this machine lacks (nothing was installed: ${why}):`,
    ...missing.map(describe),
  ];
  if (packages.length) lines.push(`Install ${missing.length > 1 ? 'them' : 'it'} (Debian's packages), then run npm test again:`, `  sudo apt-get install -y --no-install-recommends ${packages.join(' ')}`);
  if (missing.some((m) => !m.need.aptPackages.length)) lines.push('Point CHROMIUM_PATH at a Chromium binary that exists, or unset it to use Debian\'s /usr/bin/chromium.');
  return lines.join('\n');
}

function aptGet(args: readonly string[]): { ok: boolean; output: string } {
  const r = spawnSync('apt-get', args, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { ok: !r.error && r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** apt-get's own summary of an install: the NEW packages block and the counts line. */
export function aptSummary(output: string): string {
  const summary: string[] = [];
  let inBlock = false;
  for (const line of output.split('\n')) {
    if (line.startsWith('The following NEW packages will be installed')) inBlock = true;
    else if (inBlock && !line.startsWith(' ')) inBlock = false;
    if (inBlock || /\d+ newly installed/.test(line)) summary.push(line);
  }
  return summary.join('\n');
}

function main(): number {
  const needs = prerequisites();
  let checked = check(needs);
  let missing = missingOf(checked);
  if (missing.length) {
    const why = whyNoInstall() ?? (missing.some((m) => !m.need.aptPackages.length) ? 'CHROMIUM_PATH names a Chromium apt-get cannot provide' : undefined);
    if (why) {
      console.error(refusal(missing, why));
      return 1;
    }
    const packages = missing.flatMap((m) => m.need.aptPackages);
    console.log(`npm test: installing what the suites need with apt-get (root on Debian): ${packages.join(' ')}`);
    for (const m of missing) console.log(describe(m));
    const installArgs = ['install', '-y', '-q', '--no-install-recommends', ...packages];
    // the package lists a machine came with, else fresh ones (a stale list names files the mirror dropped)
    let install = aptGet(installArgs);
    if (!install.ok) {
      const update = aptGet(['update', '-q']);
      install = update.ok ? aptGet(installArgs) : update;
    }
    if (!install.ok) {
      console.error(`apt-get failed:\n${install.output.trim()}`);
      console.error(refusal(missing, 'apt-get failed'));
      return 1;
    }
    console.log(aptSummary(install.output));
    checked = check(needs);
    missing = missingOf(checked);
    if (missing.length) {
      console.error(refusal(missing, 'still missing after apt-get install'));
      return 1;
    }
  }
  console.log(`npm test: ${checked.map((c) => `${c.need.name} ${'version' in c.state ? c.state.version : ''}`).join(', ')}`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main();
