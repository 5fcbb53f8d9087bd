import { byUsername, MAX_BLOCKS, type RoomRoster, type UserBlocks } from './people.js';
import { defineScript, guarded, type RedisClient } from './redis-client.js';

/*
 * Keys (braces: the hash tag of the room or the user, so each command stays in one slot):
 *   room:{name}:roster   zset   `<username> <user id>`, all of score 0: a page in username order with ZRANGEBYLEX
 *                               (a space sorts below every username character, so names order as they do alone)
 *   user:{id}:blocks     hash   blocked user id -> username
 */

// KEYS: user:{id}:blocks. ARGV: blocked id, username, most blocks. Answers 1, or 0 when the list is full.
const BLOCK = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

export function createRedisPeople(client: RedisClient, p: string): RoomRoster & UserBlocks {
  const roster = (room: string) => `${p}room:{${room}}:roster`;
  const blocks = (userId: string) => `${p}user:{${userId}}:blocks`;
  const blockScript = defineScript(client, 'chatPeopleBlock', BLOCK);
  return {
    addToRoster: (room, user) =>
      guarded('addToRoster', async () => {
        await client.zadd(roster(room), 0, `${user.username} ${user.id}`);
      }),
    removeFromRoster: (room, user) =>
      guarded('removeFromRoster', async () => {
        await client.zrem(roster(room), `${user.username} ${user.id}`);
      }),
    roster: (room, { after, limit }) =>
      guarded('roster', async () => {
        // '!' sorts right after the space and below every username character: past every entry of that name
        const from = after === undefined ? '-' : `(${after}!`;
        const entries = await client.zrangebylex(roster(room), from, '+', 'LIMIT', 0, limit);
        return entries.map((e) => {
          const at = e.indexOf(' ');
          return { username: e.slice(0, at), id: e.slice(at + 1) };
        });
      }),
    block: (blockerId, blocked) =>
      guarded('block', async () => (await blockScript(1, blocks(blockerId), blocked.id, blocked.username, MAX_BLOCKS)) === 1),
    unblock: (blockerId, blockedId) => guarded('unblock', async () => (await client.hdel(blocks(blockerId), blockedId)) === 1),
    blockedBy: (blockedId, userIds) =>
      guarded('blockedBy', async () => {
        const answers = await Promise.all(userIds.map((id) => client.hexists(blocks(id), blockedId)));
        return new Set(userIds.filter((_, i) => answers[i] === 1));
      }),
    blocked: (blockerId) =>
      guarded('blocked', async () =>
        Object.entries(await client.hgetall(blocks(blockerId)))
          .map(([id, username]) => ({ id, username }))
          .sort(byUsername),
      ),
  };
}
