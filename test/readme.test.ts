// Every code block of the README, as written: TypeScript is type-checked under `strict` and run
// with Node against a fresh server, GraphQL is validated against the schema and executed, and each
// shell command is matched to the test that runs it. A block added anywhere in the README is
// picked up here; one this file cannot run fails, saying what to do.
import { execFile, spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildSchema, Kind, parse, print, validate, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf, collect, gql, signUp, wsClient, type GraphQLResponse } from './support/client.js';
import { waitFor } from './support/net.js';
import { readmeBlocks, shellCommands, type CodeBlock } from './support/readme.js';
import { startServer, type RunningServer } from './support/server.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX_LOADER = new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const blocks = readmeBlocks();
const where = (b: CodeBlock) => `README.md:${b.line} (${b.heading})`;

/** The user the README's examples sign in as. */
const ALICE = { username: 'alice', password: 'correct horse' };

/**
 * Each shell command of the README and the test that runs it (or why none can). A new command
 * fails the test below until it is added here, with a test that runs it.
 */
const SHELL_COMMANDS: Record<string, string> = {
  'npm ci && npm start': 'test/first-run.test.ts: in a copy of the repository, then GET / and a kill of npm start by its pid',
  'npm start': 'test/first-run.test.ts',
  'npm test': 'the suite this test is part of (.ci/run runs it in CI after npm ci); its pretest in test/test-prereqs.test.ts',
  'npm run codegen': 'test/codegen.test.ts: the same codegen.ts config, compared with the committed files',
  'npm run chat -- --url http://localhost:4000 --user alice --room general': 'test/client.cli.test.ts: cli/chat.ts with --url, --user and --room',
  'npm run web:build': 'test/web.test.ts (its type check) and test/support/browser.ts (its Vite build)',
  'npm run web:dev': 'test/web.connection.test.ts: Vite on a free port, live through its proxy',
  'cp .env.example .env': 'test/deploy-files.test.ts: .env.example documents JWT_SECRET, .env stays out of git',
  'docker compose up --build': 'test/deploy-files.test.ts (no Docker engine in CI: the files are read and checked with `docker compose config`)',
  'SECRET=$(openssl rand -hex 32)': 'test/first-run.test.ts: the plain-processes block, as written, on free ports',
  'REDIS_URL=redis://127.0.0.1:6379 JWT_SECRET=$SECRET TRUSTED_PROXIES=loopback PORT=4001 npm start &': 'test/first-run.test.ts',
  'REDIS_URL=redis://127.0.0.1:6379 JWT_SECRET=$SECRET TRUSTED_PROXIES=loopback PORT=4002 npm start &': 'test/first-run.test.ts',
  'npm run nginx -- --port 8080 127.0.0.1:4001 127.0.0.1:4002': 'test/first-run.test.ts',
  'npm run bench': 'not run by the tests: minutes on a quiet machine; its figures are in the README, with the command that made them',
  'docker compose -f docker-compose.cluster.yml up --build': 'test/deploy-files.test.ts: the cluster variant\'s services, init script and settings (no Docker engine in CI; checked with `docker compose config`)',
  'REDIS_CLUSTER_NODES=127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002 JWT_SECRET=$SECRET npm start':
    'test/cluster.e2e.test.ts and test/support/engines.ts: server processes started with REDIS_CLUSTER_NODES naming a local cluster (on free ports, not 7000-7002)',
  'npm run bench -- --cluster': 'not run by the tests: its own cluster and a few thousand sends; its figures are in the README, with the command that made them',
};

it('every code block names its language: ts, graphql, sh, or text for output', () => {
  for (const b of blocks) expect(['ts', 'graphql', 'sh', 'text'], where(b)).toContain(b.lang);
});

describe('what the README says of other files', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  it('names the Node version of the Docker image, and the one package.json requires', () => {
    const image = /^FROM node:(\d+)/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
    expect(image).toBeDefined();
    expect(readme).toMatch(new RegExp(`Docker image uses\\s+Node ${image}\\b`));
    const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(readme).toMatch(new RegExp(`Node\\.js\\s+${engines.replace(/^>=/, '').replace('.', '\\.')}\\s+or\\s+newer`));
  });

  it('makes JWT_SECRET the way .env.example says to', () => {
    const recipe = 'openssl rand -hex 32';
    expect(readFileSync(join(ROOT, '.env.example'), 'utf8')).toContain(recipe);
    expect(readme).toContain(recipe);
    expect(readme).not.toMatch(/openssl rand -base64/);
  });
});

describe('shell blocks', () => {
  const commands = blocks.filter((b) => b.lang === 'sh').flatMap((b) => shellCommands(b.code).map((command) => ({ command, block: b })));

  it('every command is one a test runs (or says why none can)', () => {
    for (const { command, block } of commands) {
      expect(SHELL_COMMANDS[command], `${where(block)}: \`${command}\` is run by no test: add it to SHELL_COMMANDS in test/readme.test.ts with the test that runs it`).toBeDefined();
    }
  });

  it('names scripts that package.json has', () => {
    const scripts = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
    for (const { command, block } of commands) {
      for (const [, name] of command.matchAll(/npm run ([\w:-]+)/g)) expect(scripts, `${where(block)}: npm run ${name}`).toContain(name);
    }
  });

  it('every test file named exists', () => {
    for (const why of Object.values(SHELL_COMMANDS)) {
      for (const [file] of why.matchAll(/test\/[\w./-]+\.ts/g)) expect(() => readFileSync(join(ROOT, file)), file).not.toThrow();
    }
  });
});

describe('GraphQL blocks', () => {
  const schema = buildSchema(readFileSync(join(ROOT, 'schema.graphql'), 'utf8'));
  const operations = blocks
    .filter((b) => b.lang === 'graphql')
    .flatMap((b) => parse(b.code).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION).map((op) => ({ op, block: b })));
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ MESSAGE_RATE_LIMIT: '0' });
  });
  afterAll(() => server?.stop());

  it('fit the schema', () => {
    expect(operations.length).toBeGreaterThan(0);
    for (const { op, block } of operations) {
      const doc = { kind: Kind.DOCUMENT, definitions: [op] } as const;
      expect(validate(schema, doc).map((e) => e.message), `${where(block)}: ${print(op)}`).toEqual([]);
    }
  });

  it('run against a server, in order, signed in as the README signs in (ids of the examples may name nothing)', async () => {
    let token: string | undefined;
    const activeSubscriptions = async () => Number(/^chat_active_subscriptions (\d+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1] ?? 0);
    for (const { op, block } of operations) {
      const query = print(op);
      const what = `${where(block)}: ${query}`;
      const signsIn = op.operation === 'mutation' && op.selectionSet.selections.some((s) => s.kind === Kind.FIELD && ['register', 'login'].includes(s.name.value));
      if (!signsIn && !token) token = (await signUp(server.httpUrl, 'readme')).accessToken;
      if (op.operation === 'subscription') {
        const client = wsClient(server.wsUrl, token!);
        const before = await activeSubscriptions();
        const sub = collect(client, query);
        await waitFor(async () => sub.error !== null || (await activeSubscriptions()) > before, { what });
        expect(sub.error, what).toBeNull();
        sub.dispose();
        await client.dispose();
        continue;
      }
      const r: GraphQLResponse = await gql(server.httpUrl, query, {}, signsIn ? undefined : token);
      // an example's id ("1795659911674-0") names no message here: NOT_FOUND is the answer to expect
      if (r.errors) expect(['NOT_FOUND', 'FORBIDDEN'], `${what}: ${JSON.stringify(r.errors)}`).toContain(codeOf(r));
      const signedIn = (r.data as Record<string, { accessToken?: string }> | null | undefined)?.[signsIn ? ((op.selectionSet.selections[0] as { name: { value: string } }).name.value) : ''];
      if (signedIn?.accessToken) token = signedIn.accessToken;
    }
  });
});

describe('TypeScript blocks', () => {
  const snippets = blocks.filter((b) => b.lang === 'ts').map((b) => ({ block: b, file: join(ROOT, `.readme-snippet-${b.line}.ts`) }));
  const tsconfig = join(ROOT, '.readme-tsconfig.json');
  beforeAll(() => {
    for (const s of snippets) writeFileSync(s.file, s.block.code);
    // the repository's settings (strict, NodeNext), for these files only
    writeFileSync(tsconfig, JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: true, rootDir: '.' }, include: snippets.map((s) => s.file) }));
  });
  afterAll(() => {
    for (const s of snippets) rmSync(s.file, { force: true });
    rmSync(tsconfig, { force: true });
  });

  it('type-check under strict, as written', async () => {
    expect(snippets.length).toBeGreaterThan(0);
    try {
      await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], { cwd: ROOT });
    } catch (err) {
      throw new Error(`README TypeScript does not compile:\n${(err as { stdout?: string }).stdout ?? err}`);
    }
  }, 120_000);

  for (const { block, file } of snippets) {
    it(`runs with Node against a fresh server: ${where(block)}`, async () => {
      // a server of its own, where the README's user exists; the example's localhost:4000 points at it
      const server = await startServer({ MESSAGE_RATE_LIMIT: '0' });
      try {
        await gql(server.httpUrl, 'mutation($u:String!,$p:String!){ register(username:$u,password:$p){ accessToken } }', { u: ALICE.username, p: ALICE.password });
        const bob = await signUp(server.httpUrl, 'bob');
        const say = (text: string) => gql(server.httpUrl, 'mutation($t:String!){ sendMessage(room:"general", text:$t){ id } }', { t: text }, bob.accessToken);
        await say('sent before the example started');
        const running = file.replace(/\.ts$/, '.run.ts');
        writeFileSync(running, block.code.replaceAll('localhost:4000', `127.0.0.1:${new URL(server.url).port}`));
        try {
          const child = spawn(process.execPath, ['--import', TSX_LOADER, running], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          child.stdout.on('data', (d) => (out += d));
          child.stderr.on('data', (d) => (err += d));
          const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
          const active = async () => /^chat_active_subscriptions [1-9]/m.test(await (await fetch(`${server.url}/metrics`)).text());
          // an example either ends by itself, or subscribes: then a message sent to general must show up in what it prints
          await waitFor(async () => child.exitCode !== null || (await active()), { timeoutMs: 30_000, what: `${where(block)} to end or subscribe; output: ${out}${err}` });
          if (child.exitCode === null) {
            await say('hello to the README example');
            await waitFor(() => out.includes('hello to the README example') || child.exitCode !== null, { timeoutMs: 15_000, what: `the message in ${where(block)}'s output: ${out}${err}` });
            child.kill();
          }
          const code = await exited;
          expect(err, `${where(block)} wrote to stderr`).toBe('');
          if (child.signalCode === null) expect(code, `${where(block)}: ${out}`).toBe(0);
          else expect(out, where(block)).toContain('hello to the README example');
          expect(out, `${where(block)} printed a message sent before it subscribed`).not.toContain('sent before the example started');
        } finally {
          rmSync(running, { force: true });
        }
      } finally {
        await server.stop();
      }
    }, 60_000);
  }
});
