// Command-line chat on the typed client:
//   npm run chat -- --url http://localhost:4000 --user alice --room general
// Asks for the password (or reads CHAT_PASSWORD), registers the user when the name is free, prints
// the room's history and then live messages, and sends every line typed. A server restart or an
// expired token costs nothing: the client reconnects, refreshes and resumes after the last message.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import {
  ChatApiError,
  CLOSE_FORBIDDEN,
  createChatClient,
  createRoomMutation,
  joinRoomMutation,
  messageAddedSubscription,
  recentMessagesQuery,
  isRetriableSendFailure,
  newClientId,
  sendMessageMutation,
  signIn,
  type MessageAddedSubscription,
} from '../client/index.js';

const USAGE = `usage: npm run chat -- [--url http://localhost:4000] --user NAME [--room general] [--register] [--history 50]

  --url       the server (its /graphql endpoint is used; ws:// for live messages)  default http://localhost:4000
  --user      your username (registered on first use unless the name is taken)
  --room      the room to chat in (joined, or created when it does not exist)    default general
  --register  register the user (fail when the name is taken) instead of logging in
  --history   how many earlier messages to print first (1-200)                  default 50

The password is asked for without echo; CHAT_PASSWORD in the environment answers instead (or the
first line of standard input when it is not a terminal). Type a line to send it; /quit or Ctrl-D leaves.`;

const COMMANDS = `commands:
  /help   this list
  /quit   leave (also /exit, or Ctrl-D)
A line starting with / is a command; start it with // to send it as a message (one / is dropped).`;

type Message = MessageAddedSubscription['messageAdded'];

function endpoints(url: string) {
  const base = new URL(url.includes('://') ? url : `http://${url}`);
  const path = base.pathname.replace(/\/+$/, '');
  base.pathname = path.endsWith('/graphql') ? path : `${path}/graphql`;
  const httpUrl = base.toString();
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  return { httpUrl, wsUrl: base.toString() };
}

/** Reads a line from a terminal without echoing it. */
function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          done();
          return resolve(value);
        }
        if (ch === '\u0003') {
          done();
          return reject(new Error('cancelled'));
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const format = (m: Pick<Message, 'createdAt' | 'author' | 'text' | 'editedAt'>) =>
  `[${time(m.createdAt)}] ${m.author.username}: ${m.text}${m.editedAt ? ' (edited)' : ''}`;

/** An error in one line: the server's message and code, or why the server could not be reached. */
function describe(err: unknown, url?: string): string {
  if (err instanceof ChatApiError) return `${err.message}${err.code ? ` (${err.code})` : ''}`;
  // fetch says only "fetch failed": the reason is in its cause (ECONNREFUSED, ENOTFOUND, ...)
  const cause = err instanceof TypeError ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause) {
    const reason = cause.code ?? cause.message ?? 'network error';
    const hint = cause.code === 'ECONNREFUSED' ? ': is the server running there? (npm start)' : '';
    return `cannot reach ${url ?? 'the server'} (${reason})${hint}`;
  }
  return err instanceof Error ? err.message : String(err);
}
/** Sends are retried for this long (server restarting, Redis slow), saying so once. */
const SEND_RETRY_MS = 30_000;

async function main() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: process.env.CHAT_URL ?? 'http://localhost:4000' },
      user: { type: 'string' },
      room: { type: 'string', default: 'general' },
      register: { type: 'boolean', default: false },
      history: { type: 'string', default: '50' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || !values.user) {
    console.error(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const username = values.user;
  const room = values.room.toLowerCase();
  const { httpUrl, wsUrl } = endpoints(values.url);
  serverUrl = httpUrl;
  const tty = Boolean(process.stdin.isTTY);
  const status = (line: string) => process.stderr.write(`* ${line}\n`);

  // asked before readline takes the terminal, which would echo it
  let password = process.env.CHAT_PASSWORD || (tty ? await readHidden(`password for ${username}: `) : '');
  const rl = createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty });
  const lines = rl[Symbol.asyncIterator]();
  if (!password) password = String((await lines.next()).value ?? '');

  const credentials = { username, password };
  const { session, registered } = await signInOrRegister(httpUrl, credentials, values.register);
  // later sign-ins (a refresh token refused) log in: the user exists now
  // the CLI retries sends itself, to say so while it does (below)
  const chat = createChatClient({ httpUrl, wsUrl, session, credentials, signIn: 'login', webSocketImpl: WebSocket, retrySendsForMs: 0 });
  status(registered ? `registered the new user ${session.user.username} on ${httpUrl}` : `signed in as ${session.user.username} on ${httpUrl}`);

  try {
    await chat.request(joinRoomMutation, { name: room });
  } catch (err) {
    if (!(err instanceof ChatApiError) || err.code !== 'NOT_FOUND') throw err;
    await chat.request(createRoomMutation, { name: room });
    status(`created room ${room}`);
  }

  /** Prints above the prompt line, keeping what is being typed. */
  const print = (line: string) => {
    if (tty) {
      process.stdout.write('\r\x1b[K');
      console.log(line);
      rl.prompt(true);
    } else console.log(line);
  };

  const limit = Math.max(1, Math.min(200, Number(values.history) || 50));
  const { recentMessages } = await chat.request(recentMessagesQuery, { room, limit });
  const n = recentMessages.length;
  status(`room ${room}: ${n === 0 ? 'no messages yet' : n === 1 ? 'the last message' : `the last ${n} messages`}`);
  for (const m of recentMessages) print(format(m));

  let online = true;
  let leaving = false;
  chat.ws.on('closed', (event) => {
    // 4403: the access token expired; the client refreshes it and reconnects at once
    if (leaving || (event as { code?: number }).code === CLOSE_FORBIDDEN) return;
    if (online) status('connection lost; reconnecting (nothing will be missed)');
    online = false;
  });
  chat.ws.on('connected', () => {
    if (!online) status('reconnected');
    online = true;
  });
  // from the last message of the history: nothing sent meanwhile is missed, nothing printed twice
  const stop = chat.subscribe(messageAddedSubscription, { room, after: recentMessages.at(-1)?.id ?? '0-0' }, {
    next: (data) => print(format(data.messageAdded)),
    error: (err) => {
      status(`live messages ended: ${describe(err)}`);
      process.exitCode = 1;
      rl.close();
    },
  });

  if (tty) {
    rl.setPrompt(`${room}> `);
    rl.prompt();
  }
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    // the line comes back from the server with the others: drop the typed copy
    if (tty) process.stdout.write('\x1b[1A\r\x1b[K');
    const line = next.value.trim();
    if (line === '/quit' || line === '/exit') break;
    if (line.startsWith('/') && !line.startsWith('//')) {
      print(line === '/help' ? COMMANDS : `unknown command ${line.split(/\s/)[0]}: /help lists them (start a message with // to send a /)`);
      if (tty) rl.prompt();
      continue;
    }
    const text = line.startsWith('//') ? line.slice(1) : line;
    if (text) {
      // one key for every attempt: the server stores the line once, however many attempts reached it
      const clientId = newClientId();
      const deadline = Date.now() + SEND_RETRY_MS;
      for (let attempt = 0; ; attempt++) {
        try {
          await chat.request(sendMessageMutation, { room, text, clientId });
          break;
        } catch (err) {
          if (isRetriableSendFailure(err) && Date.now() < deadline) {
            if (attempt === 0) status(`not sent yet (${describe(err, httpUrl)}); trying again for up to 30 s`);
            await new Promise((r) => setTimeout(r, 1000));
            continue;
          }
          status(`not sent: ${describe(err, httpUrl)}`);
          break;
        }
      }
    }
    if (tty) rl.prompt();
  }
  leaving = true;
  stop();
  rl.close();
  await chat.dispose();
}

/**
 * Logs in; when the name is free (and not `registerOnly`), registers it and says so. A wrong
 * password for an existing name stays UNAUTHENTICATED.
 */
async function signInOrRegister(httpUrl: string, credentials: { username: string; password: string }, registerOnly: boolean) {
  if (registerOnly) return { session: await signIn(httpUrl, credentials, 'register'), registered: true };
  try {
    return { session: await signIn(httpUrl, credentials, 'login'), registered: false };
  } catch (loginError) {
    // one message for unknown user and wrong password: registering tells the two apart
    if (!(loginError instanceof ChatApiError) || loginError.code !== 'UNAUTHENTICATED') throw loginError;
    try {
      return { session: await signIn(httpUrl, credentials, 'register'), registered: true };
    } catch (registerError) {
      if (registerError instanceof ChatApiError && registerError.code === 'CONFLICT') throw loginError;
      throw registerError;
    }
  }
}

let serverUrl: string | undefined;
main().catch((err: unknown) => {
  console.error(`chat: ${describe(err, serverUrl)}`);
  process.exit(1);
});
