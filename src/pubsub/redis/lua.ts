/*
 * Lua shared by the scripts of the Redis engines (single node and cluster): each script touches
 * the keys of one hash tag only, and publishes with the command it is given (PUBLISH, or SPUBLISH
 * in a cluster, where the channel must share the keys' slot).
 */

/**
 * createdAt from a Unix ms count, exactly as Date#toISOString writes it (years 0-9999), with
 * integer arithmetic (Howard Hinnant's civil_from_days): Lua has no date library in Redis.
 * Exported for the test that compares it with Date#toISOString.
 */
export const ISO_FROM_MS_LUA = `
local function iso_from_ms(ms)
  local days = math.floor(ms / 86400000)
  local rest = ms - days * 86400000
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  local h = math.floor(rest / 3600000)
  local mi = math.floor((rest % 3600000) / 60000)
  local s = math.floor((rest % 60000) / 1000)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', y, m, d, h, mi, s, rest % 1000)
end
`;

/** A stream entry's field list as a table. */
export const FIELDS_OF_LUA = `
local function fields_of(entry)
  local f = {}
  for i = 1, #entry[2], 2 do f[entry[2][i]] = entry[2][i + 1] end
  return f
end
`;

/**
 * Where a room's history starts, from the messages ever sent (`total`, the room's n) and `msgs`:
 * the number of the oldest of the newest historyLimit messages sent (deleted ones included), less
 * one; nil for a log written before `msgs` existed. Unread and mention counts count what comes
 * after it.
 */
export const HISTORY_FLOOR_LUA = `
local function history_floor(total, msgs_key)
  local listed = redis.call('LLEN', msgs_key)
  if listed == 0 then return nil end
  return total - listed
end
`;

/**
 * Shared by the writing scripts: the server's clock, and the deadline check ("an answer is the
 * truth"): ARGV[1] is the deadline in Unix ms ('' = none), ARGV[2] the publish command.
 */
export const WRITE_PRELUDE = `${ISO_FROM_MS_LUA}${FIELDS_OF_LUA}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = tonumber(ARGV[1])
if deadline and now > deadline then
  return redis.error_reply('DEADLINE refused: it arrived after its deadline')
end
local publish = ARGV[2]
local function keep(ttl, first, last)
  for i = first, last do redis.call('PEXPIRE', KEYS[i], ttl) end
end
local function keep_all(ttl)
  keep(ttl, 1, #KEYS)
end
`;

/**
 * For the logs behind user and control channels (WRITE_PRELUDE first; KEYS[1] the log, ARGV[3]
 * its MAXLEN, ARGV[4] its TTL in ms): appends `fields`, trims, keeps every key for the TTL, and
 * publishes `{"c":<entry id>,"<name>":<json>}` on `channel`. Answers the entry id.
 */
export const LOG_AND_PUBLISH_LUA = `
local function log_and_publish(fields, name, json, channel)
  local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', unpack(fields))
  redis.call('XTRIM', KEYS[1], 'MINID', '~', tostring(now - tonumber(ARGV[4])))
  keep_all(ARGV[4])
  redis.call(publish, channel, '{"c":"' .. id .. '","' .. name .. '":' .. json .. '}')
  return id
end
`;
