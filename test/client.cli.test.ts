// The command-line chat (cli/chat.ts, `npm run chat`) as a real process against real servers.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createChatClient, createRoomMutation, editMessageMutation, messageAddedSubscription, sendMessageMutation, type ChatClient } from '../client/index.js';
import { signUp, type Session } from './support/client.js';
import { startDeployment, type Deployment } from './support/deployment.js';
import { freePort, waitFor } from './support/net.js';
import { startServer, type RunningServer, type ServerProcess } from './support/server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const TSX = `${root}node_modules/tsx/dist/cli.mjs`;

interface Cli {
  readonly child: ChildProcessWithoutNullStreams;
  /** Message lines printed so far (`[time] user: text`), time stripped. */
  messages(): string[];
  /** Status lines (stderr). */
  status(): string;
  /** Everything printed to standard output. */
  output(): string;
  type(line: string): void;
  waitForMessages(n: number, what?: string): Promise<string[]>;
  exited: Promise<number | null>;
}

const clis: Cli[] = [];
const chats: ChatClient[] = [];
afterEach(async () => {
  for (const c of clis.splice(0)) if (c.child.exitCode === null) c.child.kill();
  await Promise.all(chats.splice(0).map((c) => c.dispose()));
});

function startCli(args: string[], password: string): Cli {
  const child = spawn(process.execPath, [TSX, 'cli/chat.ts', ...args], {
    cwd: root,
    env: { ...process.env, CHAT_PASSWORD: password },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const messages = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('['))
      .map((l) => l.replace(/^\[[^\]]*\] /, ''));
  const cli: Cli = {
    child,
    messages,
    status: () => err,
    output: () => out,
    type: (line) => child.stdin.write(`${line}\n`),
    async waitForMessages(n, what = `${n} message lines`) {
      await waitFor(() => messages().length >= n || child.exitCode !== null, { timeoutMs: 30_000, what: `${what}; stdout: ${out}; stderr: ${err}` });
      if (messages().length < n) throw new Error(`the CLI exited with ${child.exitCode}: ${err}`);
      return messages();
    },
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  clis.push(cli);
  return cli;
}

function chatFor(server: { httpUrl: string; wsUrl: string }, user: Session) {
  const chat = createChatClient({
    httpUrl: server.httpUrl,
    wsUrl: server.wsUrl,
    credentials: { username: user.username, password: user.password },
    webSocketImpl: WebSocket,
    retryWait: () => new Promise((r) => setTimeout(r, 100)),
  });
  chats.push(chat);
  return chat;
}

describe('npm run chat', () => {
  let server: RunningServer;
  afterAll(() => server?.stop());

  it('registers a new user, prints the history, then live messages, and sends what is typed', async () => {
    server = await startServer({ MESSAGE_RATE_LIMIT: '0' });
    const bob = await signUp(server.httpUrl, 'bob');
    const bobChat = chatFor(server, bob);
    const room = `cli-${Date.now()}`;
    await bobChat.request(createRoomMutation, { name: room });

    const earlier = (await bobChat.request(sendMessageMutation, { room, text: 'earlier mesage' })).sendMessage;
    await bobChat.request(editMessageMutation, { room, id: earlier.id, text: 'earlier message' });

    const username = `carol_${Date.now() % 100000}`;
    const cli = startCli(['--url', server.url, '--user', username, '--room', room], 'carol password');
    // the history shows the edit as such
    expect(await cli.waitForMessages(1, 'the history')).toEqual([`${bob.username}: earlier message (edited)`]);
    // a new name is registered, and the CLI says so
    await waitFor(() => cli.status().includes(`registered the new user ${username}`), { what: 'the registration line' });
    expect(cli.status()).toContain(`room ${room}: the last message\n`);

    // what carol types reaches bob's subscription, and bob's messages reach carol
    const seen: string[] = [];
    bobChat.subscribe(messageAddedSubscription, { room, after: '0-0' }, { next: (d) => seen.push(`${d.messageAdded.author.username}: ${d.messageAdded.text}`) });
    await waitFor(() => seen.length === 1, { what: 'bob to see the history' });
    // commands are not messages
    cli.type('/help');
    await waitFor(() => cli.output().includes('/quit   leave'), { what: 'the list of commands' });
    cli.type('/nope');
    await waitFor(() => cli.output().includes('unknown command /nope'), { what: 'the unknown command' });
    cli.type('hello from the terminal');
    await waitFor(() => seen.length === 2, { what: 'bob to receive the typed line' });
    expect(seen[1]).toBe(`${username}: hello from the terminal`);
    await bobChat.request(sendMessageMutation, { room, text: 'hi carol' });
    expect(await cli.waitForMessages(3)).toEqual([`${bob.username}: earlier message (edited)`, `${username}: hello from the terminal`, `${bob.username}: hi carol`]);
    // neither /help nor /nope was sent
    expect(seen).toEqual([`${bob.username}: earlier message`, `${username}: hello from the terminal`, `${bob.username}: hi carol`]);

    cli.type('/quit');
    expect(await cli.exited).toBe(0);
    expect(cli.status()).not.toContain('connection lost');

    // the same user again logs in (no second registration) with the same password, and a wrong one is refused
    const again = startCli(['--url', server.url, '--user', username, '--room', room, '--history', '2'], 'carol password');
    expect(await again.waitForMessages(2)).toEqual([`${username}: hello from the terminal`, `${bob.username}: hi carol`]);
    expect(again.status()).toContain(`signed in as ${username}`);
    expect(again.status()).toContain('the last 2 messages');
    again.child.stdin.end(); // Ctrl-D
    expect(await again.exited).toBe(0);
    expect(again.status()).not.toContain('connection lost');
    const wrong = startCli(['--url', server.url, '--user', username, '--room', room], 'not the password');
    expect(await wrong.exited).toBe(1);
    expect(wrong.status()).toMatch(/UNAUTHENTICATED/);
  }, 60_000);
});

describe('npm run chat without a server', () => {
  it('says which URL it could not reach and why, and exits 1', async () => {
    const port = await freePort();
    const cli = startCli(['--url', `http://127.0.0.1:${port}`, '--user', 'nobody_here'], 'some password');
    expect(await cli.exited).toBe(1);
    expect(cli.status().trim()).toBe(`chat: cannot reach http://127.0.0.1:${port}/graphql (ECONNREFUSED): is the server running there? (npm start)`);
  });
});

describe('npm run chat across a server restart (Redis, real processes)', () => {
  let deployment: Deployment | undefined;
  afterAll(() => deployment?.stop());

  it('prints every message sent while its server was down, then sends again, nothing lost or doubled', async () => {
    deployment = await startDeployment({ env: { MESSAGE_RATE_LIMIT: '0', SHUTDOWN_TIMEOUT: '5' } });
    const [first, other] = deployment.servers as [ServerProcess, ServerProcess];
    const bob = await signUp(other.httpUrl, 'bob');
    const bobChat = chatFor(other, bob);
    const room = `cli-restart-${Date.now()}`;
    await bobChat.request(createRoomMutation, { name: room });
    await bobChat.request(sendMessageMutation, { room, text: 'before' });

    const username = `dave_${Date.now() % 100000}`;
    const cli = startCli(['--url', first.url, '--user', username, '--room', room], 'dave password');
    await cli.waitForMessages(1);
    cli.type('dave is here');
    await cli.waitForMessages(2);

    expect(await first.stop()).toBe(0);
    await waitFor(() => cli.status().includes('connection lost'), { what: 'the CLI to notice' });
    for (const text of ['while down 1', 'while down 2']) await bobChat.request(sendMessageMutation, { room, text });
    // a line typed while its server is down: the CLI says so and sends it (once) when the server is back
    cli.type('typed while down');
    await waitFor(() => cli.status().includes('not sent yet (cannot reach'), { what: 'the CLI to say the line waits' });
    await deployment.add({ PORT: String(first.port) });
    await cli.waitForMessages(5, 'the messages sent while the server was down, and the line typed meanwhile');
    cli.type('back again');
    await cli.waitForMessages(6);

    expect(cli.messages()).toEqual([
      `${bob.username}: before`,
      `${username}: dave is here`,
      `${bob.username}: while down 1`,
      `${bob.username}: while down 2`,
      `${username}: typed while down`,
      `${username}: back again`,
    ]);
    cli.type('/quit');
    expect(await cli.exited).toBe(0);
  }, 90_000);
});
