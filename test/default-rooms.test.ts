// A default room always exists: also after Redis lost its data (a restart without persistence),
// without restarting an instance.
import { afterAll, describe, expect, it } from 'vitest';
import { codeOf, gql, signUp, type GraphQLResponse } from './support/client.js';
import { waitFor } from './support/net.js';
import { startRedisServer, type RedisServer } from './support/redis.js';
import { startServer, type RunningServer } from './support/server.js';

describe('default rooms after Redis lost its data', () => {
  let redis: RedisServer | undefined;
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.stop();
    await redis?.dispose();
  });

  it('general answers again at once: listed, readable and writable', async () => {
    redis = await startRedisServer(); // no persistence: a restart loses everything
    server = await startServer({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT: '500', MESSAGE_RATE_LIMIT: '0' });
    const url = server.httpUrl;
    const alice = await signUp(url, 'alice');
    const send = (text: string) => gql(url, 'mutation($t:String!){ sendMessage(room:"general", text:$t){ id } }', { t: text }, alice.accessToken);
    expect((await send('before the restart')).errors).toBeUndefined();

    await redis.restart();
    // once the instance has reconnected (until then: SERVICE_UNAVAILABLE)
    let history: GraphQLResponse = {};
    await waitFor(
      async () => {
        history = await gql(url, '{ recentMessages(room: "general") { text } }', {}, alice.accessToken);
        return codeOf(history) !== 'SERVICE_UNAVAILABLE';
      },
      { timeoutMs: 20_000, what: 'the instance to reconnect to Redis' },
    );
    expect(history.errors).toBeUndefined();
    expect(history.data).toEqual({ recentMessages: [] }); // the log went with the data
    const rooms = await gql(url, '{ rooms { name private } }', {}, alice.accessToken);
    expect(rooms.data?.rooms).toContainEqual({ name: 'general', private: false });
    expect((await send('after the restart')).errors).toBeUndefined();
  }, 60_000);
});
