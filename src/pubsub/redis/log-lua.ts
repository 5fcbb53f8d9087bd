import { ENTRIES_PER_MESSAGE, MENTION_COUNT_LIMIT } from '../types.js';
import { FIELDS_OF_LUA, HISTORY_FLOOR_LUA, ISO_FROM_MS_LUA, WRITE_PRELUDE } from './lua.js';

/*
 * The scripts of a room's log (log.ts runs them). Every one touches the keys of one room only (one
 * hash tag, one cluster slot), passed in KEYS.
 *
 * Stream entries, by their fields:
 * - a message: text, authorId, authorName, n (its number in the room), and when given replyTo (the
 *   id answered: never a copy of its text) and mentions (JSON `[{id, username}]`);
 * - an edit or a deletion: kind (edited | deleted), target, text ('' for a deletion), authorId and
 *   authorName (the message's author), and for a moderator's deletion moderatorId, moderatorName;
 * - a reaction change: kind = reaction, target, emoji, op (add | remove), authorId, authorName (who
 *   reacted). Only the latest of a message stays: each one removes the one before (XDEL);
 * - a moderator's action: kind = moderation, action, targetId, targetName, until (ms) or role,
 *   authorId, authorName (the moderator). Written by moderation.ts.
 *
 * Beside the stream: `changes` (message id -> current state when edited: `{"t","e","x"}`; and
 * `gone`: the numbers of deleted messages, reads.ts), `reactions` (message id ->
 * `{"r":[[emoji,[user ids]]...],"x":<its latest reaction entry>}`), `mentions` (user id -> the
 * numbers of the messages that mention them, oldest first), `msgs` (the ids of the newest
 * historyLimit messages sent, deleted ones included, newest first).
 *
 * History is the newest historyLimit messages sent: a message that leaves `msgs` (by count, or
 * past historyTtl) leaves the log with its latest edit and reaction entries and its state, and the
 * entries older than the oldest id in `msgs` go (MINID ~). A deleted message keeps its place, as
 * its deletion entry: deleting cannot bring an older message back. Edits, reactions and
 * moderators' actions are entries too; a cap of ENTRIES_PER_MESSAGE x historyLimit entries
 * (MAXLEN ~) only bounds a log that moderators' actions alone would fill.
 */

/** Message state, shared by the scripts that read or publish messages: the keys in K (log, changes, reactions). */
const MESSAGE_STATE_LUA = `${ISO_FROM_MS_LUA}${FIELDS_OF_LUA}${HISTORY_FLOOR_LUA}
local function ms_of(id) return tonumber(string.match(id, '^(%d+)-')) end
-- the message a reply answers, as it is now: id only when it is deleted or no longer retained
local function quote_of(id)
  local found = redis.call('XRANGE', K.log, id, id)
  local q = found[1] and fields_of(found[1])
  if not q or q.kind then return { id = id } end
  local text = q.text
  local state = redis.call('HGET', K.changes, id)
  if state then
    local s = cjson.decode(state)
    if s.d then return { id = id } end
    text = s.t
  end
  return { id = id, authorId = q.authorId, authorName = q.authorName, firstLine = string.match(text, '^[^\\r\\n]*') }
end
local function reactions_of(id)
  local raw = redis.call('HGET', K.reactions, id)
  if not raw then return { r = {} } end
  local st = cjson.decode(raw)
  if type(st.r) ~= 'table' then st.r = {} end
  return st
end
-- stored as [emoji, [user ids]]; shown as { emoji, userIds }; nil for none
local function shown_reactions(r)
  if #r == 0 then return nil end
  local out = {}
  for i, e in ipairs(r) do out[i] = { emoji = e[1], userIds = e[2] } end
  return out
end
-- a message entry's fields as the message is now; nil when it was deleted (logs before redaction)
local function message_of(room, id, f)
  local m = { id = id, room = room, text = f.text, authorId = f.authorId, authorName = f.authorName, createdAt = iso_from_ms(ms_of(id)) }
  local state = redis.call('HGET', K.changes, id)
  if state then
    local s = cjson.decode(state)
    if s.d then return nil end
    m.text, m.editedAt = s.t, s.e
  end
  if f.replyTo then m.replyTo = quote_of(f.replyTo) end
  if f.mentions then m.mentions = cjson.decode(f.mentions) end
  m.reactions = shown_reactions(reactions_of(id).r)
  return m
end
-- the message with this id as it is now, and its entry's fields; nil when deleted or not retained
local function find_message(room, id)
  local found = redis.call('XRANGE', K.log, id, id)
  if #found == 0 then return nil end
  local f = fields_of(found[1])
  if f.kind then return nil end
  return message_of(room, id, f), f
end
-- a message deleted or leaving history: its entry, its latest edit and reaction entries (they hold
-- its text and who reacted) and its state go at once, not when trimming reaches them
local function forget(id)
  redis.call('XDEL', K.log, id)
  local state = redis.call('HGET', K.changes, id)
  if state then
    local x = cjson.decode(state).x
    if x then redis.call('XDEL', K.log, x) end
    redis.call('HDEL', K.changes, id)
  end
  local st = reactions_of(id)
  if st.x then redis.call('XDEL', K.log, st.x) end
  redis.call('HDEL', K.reactions, id)
end
`;

/** The keys of a write (keys.ts logWriteKeys), the standing check, and keeping the log's keys alive. */
const WRITE_LUA = `${WRITE_PRELUDE}
local K = { bans = KEYS[1], mutes = KEYS[2], log = KEYS[3], n = KEYS[4], changes = KEYS[5], reads = KEYS[6], reactions = KEYS[7], mentions = KEYS[8], msgs = KEYS[9] }
local function keep_log(ttl) keep(ttl, 3, 9) end
local entry_cap = tonumber(ARGV[3]) * ${ENTRIES_PER_MESSAGE}
-- a banned or muted user's write is refused in the same step as the write
local function refused(user)
  if redis.call('HEXISTS', K.bans, user) == 1 then return { 'banned' } end
  local mute = redis.call('HGET', K.mutes, user)
  if mute then
    local until_ms = tonumber(cjson.decode(mute).u)
    if until_ms > now then return { 'muted', iso_from_ms(until_ms) } end
    redis.call('HDEL', K.mutes, user)
  end
  return nil
end
`;

/** The read scripts' keys: log, changes, reactions. */
const READ_LUA = `
local K = { log = KEYS[1], changes = KEYS[2], reactions = KEYS[3] }
`;

/*
 * Append and publish in one script, so that Redis runs them as one step: subscribers receive a
 * room's entries in the order of their ids, and an entry is published iff it is in the log.
 *
 * KEYS: logWriteKeys, then the author's idempotency key when the sender gave one (KEYS[10]).
 * ARGV: deadline ms ('' = none), publish command, historyLimit, historyTtl ms, room, text,
 * authorId, authorName, the room's channel, replyTo ('' = none), mentions JSON ('' = none), then
 * the user ids whose mention counts grow. Answers { 'ok', the message's JSON, 1 when it was
 * appended before with the same key (nothing new is written or published) or 0 }, { 'banned' },
 * { 'muted', until } or { 'reply-not-found' }.
 *
 * - Idempotency: an append with a key already used by the same author in the same room (within
 *   historyTtl: the key expires with the room's other keys) answers that message, as the log now
 *   shows it: a retry whose first reply was lost learns the id it got, and the log holds the
 *   message once, whatever the author's standing became since. The key is checked and set in the
 *   same step as the append.
 * - The deadline is checked against the server's clock (TIME): a stalled Redis that wakes up
 *   refuses work whose caller has already been answered with an error.
 * - Trimming is approximate (MAXLEN ~, MINID ~): Redis drops whole stream nodes only, which is
 *   O(1) per append. The contract asks for "at least historyLimit" messages retained, which ~
 *   honours; `msgs` is trimmed exactly (to historyLimit, and past historyTtl).
 * - createdAt is not stored: it is the id's milliseconds by definition.
 * - The author has read what they wrote: their read mark moves to the new message.
 */
export const APPEND = `${WRITE_LUA}${MESSAGE_STATE_LUA}
local room = ARGV[5]
local seen = KEYS[10] and redis.call('GET', KEYS[10])
if seen then
  local m = find_message(room, seen)
  if not m then m = { id = seen, room = room, text = '', authorId = ARGV[7], authorName = ARGV[8], createdAt = iso_from_ms(ms_of(seen)) } end
  return { 'ok', cjson.encode(m), 1 }
end
local no = refused(ARGV[7])
if no then return no end
local fields = { 'text', ARGV[6], 'authorId', ARGV[7], 'authorName', ARGV[8] }
local quote = nil
if ARGV[10] ~= '' then
  quote = quote_of(ARGV[10])
  if not quote.authorId then return { 'reply-not-found' } end
  fields[#fields + 1] = 'replyTo'
  fields[#fields + 1] = ARGV[10]
end
if ARGV[11] ~= '' then
  fields[#fields + 1] = 'mentions'
  fields[#fields + 1] = ARGV[11]
end
local n = redis.call('INCR', K.n)
fields[#fields + 1] = 'n'
fields[#fields + 1] = n
local id = redis.call('XADD', K.log, 'MAXLEN', '~', entry_cap, '*', unpack(fields))
-- the newest historyLimit messages stay, with every entry after the oldest of them
local limit = tonumber(ARGV[3])
local listed = redis.call('LPUSH', K.msgs, id)
local leaving = listed > limit and redis.call('RPOP', K.msgs, listed - limit) or {}
local aged = now - tonumber(ARGV[4])
while true do
  local oldest = redis.call('LINDEX', K.msgs, -1)
  if not oldest or ms_of(oldest) >= aged then break end
  leaving[#leaving + 1] = redis.call('RPOP', K.msgs)
end
-- when messages left: the entries before the oldest that stays (before that, a room keeps all)
if #leaving > 0 then
  for _, old in ipairs(leaving) do forget(old) end
  redis.call('XTRIM', K.log, 'MINID', '~', redis.call('LINDEX', K.msgs, -1))
end
redis.call('XTRIM', K.log, 'MINID', '~', tostring(aged))
redis.call('HSET', K.reads, ARGV[7], id .. ' ' .. n)
for i = 12, #ARGV do
  local list = (redis.call('HGET', K.mentions, ARGV[i]) or '') .. ' ' .. n
  local kept = {}
  for v in string.gmatch(list, '%d+') do kept[#kept + 1] = v end
  while #kept > ${MENTION_COUNT_LIMIT} do table.remove(kept, 1) end
  redis.call('HSET', K.mentions, ARGV[i], table.concat(kept, ' '))
end
if KEYS[10] then redis.call('SET', KEYS[10], id) end
keep_log(ARGV[4])
if KEYS[10] then redis.call('PEXPIRE', KEYS[10], ARGV[4]) end
local m = { id = id, room = room, text = ARGV[6], authorId = ARGV[7], authorName = ARGV[8], createdAt = iso_from_ms(ms_of(id)), replyTo = quote }
if ARGV[11] ~= '' then m.mentions = cjson.decode(ARGV[11]) end
local json = cjson.encode(m)
redis.call(publish, ARGV[9], json)
return { 'ok', json, 0 }
`;

/*
 * An edit or a deletion, appended to the log and published like a message, with the redaction it
 * implies: a deletion removes the message's entry, its edit's and its latest reaction entry (XDEL)
 * and its state, and takes it out of the mention counts; an edit removes the previous edit's entry.
 * A deleted message cannot change again, for it is no longer in the log.
 * KEYS: logWriteKeys. ARGV: deadline, publish command, historyLimit, historyTtl ms, room, kind,
 * target, text, requester id, requester name, channel, '1' for a moderator's deletion (no author
 * check) else '0'. Answers { 'ok', the change's JSON }, { 'not-found' }, { 'not-author' },
 * { 'banned' } or { 'muted', until } (an edit is a write).
 */
export const CHANGE = `${WRITE_LUA}${MESSAGE_STATE_LUA}
local room, kind, target = ARGV[5], ARGV[6], ARGV[7]
local m, f = find_message(room, target)
if not m then return { 'not-found' } end
local moderated = ARGV[12] == '1'
if not moderated and f.authorId ~= ARGV[9] then return { 'not-author' } end
if kind == 'edited' then
  local no = refused(ARGV[9])
  if no then return no end
end
local state = redis.call('HGET', K.changes, target)
local s = state and cjson.decode(state) or {}
if s.x then redis.call('XDEL', K.log, s.x) end
local fields = { 'kind', kind, 'target', target, 'text', ARGV[8], 'authorId', f.authorId, 'authorName', f.authorName }
if moderated then
  for _, v in ipairs({ 'moderatorId', ARGV[9], 'moderatorName', ARGV[10] }) do fields[#fields + 1] = v end
end
local id = redis.call('XADD', K.log, 'MAXLEN', '~', entry_cap, '*', unpack(fields))
local createdAt = iso_from_ms(ms_of(id))
local change = { kind = kind, id = id, room = room, target = target, text = ARGV[8], authorId = f.authorId, authorName = f.authorName, createdAt = createdAt }
if kind == 'deleted' then
  forget(target)
  if f.n then
    -- its number, for unread counts (reads.ts): those within history are enough
    local floor = history_floor(tonumber(redis.call('GET', K.n) or '0'), K.msgs) or (tonumber(f.n) - 1)
    local kept = {}
    for v in string.gmatch(redis.call('HGET', K.changes, 'gone') or '', '%d+') do if tonumber(v) > floor then kept[#kept + 1] = v end end
    kept[#kept + 1] = f.n
    redis.call('HSET', K.changes, 'gone', table.concat(kept, ' '))
  end
  if f.mentions and f.n then
    for _, user in ipairs(cjson.decode(f.mentions)) do
      local list = redis.call('HGET', K.mentions, user.id)
      if list then
        local kept = {}
        for v in string.gmatch(list, '%d+') do if v ~= f.n then kept[#kept + 1] = v end end
        if #kept > 0 then redis.call('HSET', K.mentions, user.id, table.concat(kept, ' ')) else redis.call('HDEL', K.mentions, user.id) end
      end
    end
  end
  if moderated then change.moderatorId, change.moderatorName = ARGV[9], ARGV[10] end
else
  redis.call('HSET', K.changes, target, cjson.encode({ t = ARGV[8], e = createdAt, x = id }))
  change.replyTo, change.mentions, change.reactions = m.replyTo, m.mentions, m.reactions
end
keep_log(ARGV[4])
local json = cjson.encode(change)
redis.call(publish, ARGV[11], json)
return { 'ok', json }
`;

/*
 * Adds or removes one user's reaction to a message (idempotent: a second add, or a removal of
 * nothing, writes nothing), appends the change and publishes it with the message as it now is. The
 * message's previous reaction entry leaves the log, so a message has one at most: the latest, whose
 * message carries every reaction.
 * KEYS: logWriteKeys. ARGV: deadline, publish command, historyLimit, historyTtl ms, room, target,
 * emoji, '1' add / '0' remove, user id, username, channel, most emoji per message. Answers
 * { 'ok', the change's JSON }, { 'same', the message's JSON }, { 'not-found' }, { 'too-many' },
 * { 'banned' } or { 'muted', until }.
 */
export const REACT = `${WRITE_LUA}${MESSAGE_STATE_LUA}
local room, target, emoji, add, user = ARGV[5], ARGV[6], ARGV[7], ARGV[8] == '1', ARGV[9]
local no = refused(user)
if no then return no end
local m = find_message(room, target)
if not m then return { 'not-found' } end
local st = reactions_of(target)
local at, users = nil, nil
for i, r in ipairs(st.r) do
  if r[1] == emoji then at, users = i, r[2] end
end
local has = false
if users then
  for _, u in ipairs(users) do if u == user then has = true end end
end
if add == has then return { 'same', cjson.encode(m) } end
if add then
  if not users then
    if #st.r >= tonumber(ARGV[12]) then return { 'too-many' } end
    st.r[#st.r + 1] = { emoji, { user } }
  else
    users[#users + 1] = user
  end
else
  local rest = {}
  for _, u in ipairs(users) do if u ~= user then rest[#rest + 1] = u end end
  if #rest == 0 then table.remove(st.r, at) else st.r[at][2] = rest end
end
if st.x then redis.call('XDEL', K.log, st.x) end
local id = redis.call('XADD', K.log, 'MAXLEN', '~', entry_cap, '*', 'kind', 'reaction', 'target', target, 'emoji', emoji, 'op', add and 'add' or 'remove', 'authorId', user, 'authorName', ARGV[10])
st.x = id
redis.call('HSET', K.reactions, target, cjson.encode(st))
keep_log(ARGV[4])
m.reactions = shown_reactions(st.r)
local json = cjson.encode({ kind = 'reaction', id = id, room = room, target = target, emoji = emoji, added = add, authorId = user, authorName = ARGV[10], createdAt = iso_from_ms(ms_of(id)), message = m })
redis.call(publish, ARGV[11], json)
return { 'ok', json }
`;

/*
 * Messages in their current state, read in one consistent step: entries between start and end
 * (inclusive ids, '-'/'+' for open ends), in the direction asked, skipping everything that is not a
 * message and deleted messages, until limit messages are found.
 * KEYS: log, changes, reactions. ARGV: direction ('oldest' | 'newest'), start, end, limit, room.
 * Answers the messages' JSON, in the direction read.
 */
export const RANGE = `${READ_LUA}${MESSAGE_STATE_LUA}
local out = {}
local limit = tonumber(ARGV[4])
local low, high = ARGV[2], ARGV[3]
while #out < limit do
  local page
  if ARGV[1] == 'oldest' then
    page = redis.call('XRANGE', K.log, low, high, 'COUNT', limit * 2)
  else
    page = redis.call('XREVRANGE', K.log, high, low, 'COUNT', limit * 2)
  end
  if #page == 0 then break end
  for _, entry in ipairs(page) do
    local f = fields_of(entry)
    if not f.kind and #out < limit then
      local m = message_of(ARGV[5], entry[1], f)
      if m then out[#out + 1] = cjson.encode(m) end
    end
  end
  if #page < limit * 2 then break end
  local last = page[#page][1]
  if ARGV[1] == 'oldest' then low = '(' .. last else high = '(' .. last end
end
return out
`;

/*
 * Log entries as readers see them (replay, gap fills), in one consistent step: entries from start
 * (an inclusive id, or '(' id), each shown with its message's current state: a message as it is
 * now, an edit with the current text, a reaction change with the message as it is now, deletions
 * and moderators' actions as they are; entries about a deleted message other than its deletion
 * (only in logs written before redaction) are left out. Reads until limit entries are found or
 * the log ends. KEYS: log, changes, reactions. ARGV: start, limit, room. Answers the entries' JSON.
 */
export const ENTRIES = `${READ_LUA}${MESSAGE_STATE_LUA}
local out = {}
local limit = tonumber(ARGV[2])
local room = ARGV[3]
local low = ARGV[1]
local function entry_of(id, f)
  local base = { id = id, room = room, authorId = f.authorId, authorName = f.authorName, createdAt = iso_from_ms(ms_of(id)) }
  if not f.kind then return message_of(room, id, f) end
  if f.kind == 'deleted' then
    base.kind, base.target, base.text = 'deleted', f.target, ''
    base.moderatorId, base.moderatorName = f.moderatorId, f.moderatorName
    return base
  end
  if f.kind == 'moderation' then
    base.kind, base.action, base.targetId, base.targetName, base.role = 'moderation', f.action, f.targetId, f.targetName, f.role
    if f['until'] then base['until'] = iso_from_ms(tonumber(f['until'])) end
    return base
  end
  local m = find_message(room, f.target)
  if not m then return nil end
  base.target = f.target
  if f.kind == 'reaction' then
    base.kind, base.emoji, base.added, base.message = 'reaction', f.emoji, f.op == 'add', m
    return base
  end
  base.kind, base.text = f.kind, m.text
  base.authorId, base.authorName = m.authorId, m.authorName
  base.replyTo, base.mentions, base.reactions = m.replyTo, m.mentions, m.reactions
  return base
end
while #out < limit do
  local page = redis.call('XRANGE', K.log, low, '+', 'COUNT', limit)
  if #page == 0 then break end
  for _, entry in ipairs(page) do
    if #out < limit then
      local e = entry_of(entry[1], fields_of(entry))
      if e then out[#out + 1] = cjson.encode(e) end
    end
  end
  if #page < limit then break end
  low = '(' .. page[#page][1]
end
return out
`;
