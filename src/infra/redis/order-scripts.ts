/**
 * The Lua behind a game's order (game-order.ts) and its admission of
 * requests (order-admission.ts, for src/jobs/enqueue.ts). Each runs whole
 * inside Redis, so what one reads no other caller can change before it writes.
 *
 * Per game, under the BullMQ prefix P:
 * - `P:rtm-order:{game}`: every accepted operation not yet ended, `{queue}/{seq}` scored by seq;
 * - `P:rtm-deferred:{game}`: the payloads of accepted operations that are not yet a
 *   BullMQ job because their queue's job id (the game id) is still held by an earlier one;
 * - `P:rtm-joins:{game}`: per operation, the requests that joined it;
 * - `P:rtm-closed:{game}`: per queue, the highest seq whose operation has its end (no one
 *   joins it any more): one key per game, not one per operation (the soak saw those pile up);
 * - `P:rtm-seen:{game}:e|r:{id}`: stream entries and request ids already accepted.
 * And `P:rtm-deferred-games`, the games with a deferred operation, for the sweep.
 * Every per-game key expires after the idle window (contract §14).
 */

/** Whether `m` (`{queue}/{seq}`) is an operation still to run: its job carries that seq and has not finished, or it is deferred. */
const ALIVE = `local function job_of(prefix, queue, game)
  local base = prefix .. ':' .. queue .. ':'
  local data = redis.call('hget', base .. game, 'data')
  if not data then return nil, false end
  local finished = redis.call('zscore', base .. 'completed', game) ~= false or redis.call('zscore', base .. 'failed', game) ~= false
  local ok, decoded = pcall(cjson.decode, data)
  if not ok or type(decoded) ~= 'table' then decoded = {} end
  return decoded, not finished
end
local function alive(prefix, deferredKey, game, m)
  local queue, seq = string.match(m, '^(.-)/(%d+)$')
  if queue == nil then return false end
  local job, pending = job_of(prefix, queue, game)
  if job and pending and tonumber(job.orderSeq) == tonumber(seq) then return true end
  return redis.call('hexists', deferredKey, m) == 1
end
`;

/**
 * KEYS: mutex, order, seq counter, deferred, deferred games, joins, seen entry, seen request.
 * ARGV: token, mutex TTL, queue, image ('' none), payload JSON, idle TTL, game,
 * joiner JSON, dedup ('1'/'0'), the entry's source ref, BullMQ prefix.
 *
 * Takes the game's enqueue mutex for this queue, then decides, in order:
 * busy (mutex held) · duplicate (entry or request id seen, or the job already
 * carries this entry) · joined (the game's last accepted operation is this
 * queue's, pending, same image, not closed) · conflict (the same, another
 * image) · deferred (a new operation, but the job id is held or an earlier
 * one of this queue waits) · add (a new operation whose job JS adds now,
 * still under the mutex; the third value says whether a finished job holds the id).
 */
export const DECIDE_LUA = `${ALIVE}
local mutex, orderKey, seqKey, deferredKey, deferredGames, joinsKey, seenEntry, seenRequest =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local token, ttl, queue, image, payload, idle, game, joiner, dedup, entrySource, prefix =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
if not redis.call('set', mutex, token, 'PX', ttl, 'NX') then return {'busy'} end
local function mark(member)
  if dedup ~= '1' then return end
  redis.call('set', seenEntry, member, 'PX', idle)
  redis.call('set', seenRequest, member, 'PX', idle)
end
if dedup == '1' then
  local seen = redis.call('get', seenEntry) or redis.call('get', seenRequest)
  if seen then return {'duplicate', seen} end
end
local job, pending = job_of(prefix, queue, game)
-- The job already carries this entry (its marker write was lost with its enqueuer), within the window.
local function recent(queue)
  local created = tonumber(redis.call('hget', prefix .. ':' .. queue .. ':' .. game, 'timestamp') or '0')
  local now = redis.call('time')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - created < tonumber(idle)
end
if dedup == '1' and job and job.sourceRef == entrySource and recent(queue) then
  local member = queue .. '/' .. tostring(job.orderSeq)
  mark(member)
  return {'duplicate', member}
end
local tail = redis.call('zrange', orderKey, -1, -1)[1]
if tail and string.match(tail, '^(.-)/%d+$') == queue then
  local carrier, ownJob = nil, '0'
  local deferred = redis.call('hget', deferredKey, tail)
  if deferred then
    carrier = cjson.decode(deferred)
  elseif job and pending and queue .. '/' .. tostring(job.orderSeq) == tail
    and tonumber(redis.call('hget', prefix .. ':rtm-closed:' .. game, queue) or '0') < tonumber(job.orderSeq) then
    carrier, ownJob = job, '1'
  end
  if carrier then
    local carrierImage = carrier.imageRef or ''
    if carrierImage ~= image then return {'conflict', carrierImage} end
    local list = redis.call('hget', joinsKey, tail)
    local joined = {}
    if list then joined = cjson.decode(list) end
    joined[#joined + 1] = cjson.decode(joiner)
    redis.call('hset', joinsKey, tail, cjson.encode(joined))
    redis.call('pexpire', joinsKey, idle)
    mark(tail)
    return {'joined', tail, carrier.sourceRef or '', ownJob}
  end
end
local seq = redis.call('incr', seqKey)
local member = queue .. '/' .. seq
redis.call('zadd', orderKey, seq, member)
redis.call('pexpire', orderKey, idle)
local held = job ~= nil and pending
if not held then
  for _, field in ipairs(redis.call('hkeys', deferredKey)) do
    if string.match(field, '^(.-)/%d+$') == queue then held = true break end
  end
end
if held then
  local decoded = cjson.decode(payload)
  decoded.orderSeq = seq
  redis.call('hset', deferredKey, member, cjson.encode(decoded))
  redis.call('pexpire', deferredKey, idle)
  redis.call('sadd', deferredGames, game)
  mark(member)
  return {'deferred', member}
end
return {'add', member, job and '1' or '0'}`;

/**
 * DECIDE_LUA, and when it decides a fresh add (no job holds the id) the add
 * itself and the mutex's release, in one call (src/jobs/prepared-add.ts):
 * KEYS: DECIDE_LUA's 8, then BullMQ's addStandardJob's 9. ARGV: DECIDE_LUA's
 * 11, then that script's 3 (the job's data JSON ending in `"orderSeq":0}`,
 * where the decided seq is written).
 * Answers DECIDE_LUA's decision, with the mutex held as it leaves it, except
 * · added (member): the job is in its queue, marks written, mutex released;
 * · add_failed (why): nothing was added (what a failed add wrote of the job is
 *   deleted: no job held the id); the place given back, mutex released.
 * `standardAdd` is BullMQ's script text: it runs as a function whose KEYS and
 * ARGV are its own.
 */
export function decideAndAddLua(standardAdd: string): string {
  return `local function bullmq_add_standard_job(KEYS, ARGV)
${standardAdd}
end
local function decide(KEYS, ARGV)
${DECIDE_LUA}
end
local decided = decide({KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]},
  {ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]})
if decided[1] ~= 'add' or decided[3] ~= '0' then return decided end
local mutex, orderKey, seenEntry, seenRequest = KEYS[1], KEYS[2], KEYS[7], KEYS[8]
local token, idle, dedup = ARGV[1], ARGV[6], ARGV[9]
local member = decided[2]
local function give_back(why)
  redis.call('zrem', orderKey, member)
  -- No job held the id (DECIDE_LUA said so): whatever a failed add wrote of one is its.
  redis.call('del', ARGV[11] .. ':' .. ARGV[3] .. ':' .. ARGV[7])
  if redis.call('get', mutex) == token then redis.call('del', mutex) end
  return {'add_failed', why}
end
local seq = string.match(member, '/(%d+)$')
local data, found = string.gsub(ARGV[13], '"orderSeq":0}$', '"orderSeq":' .. seq .. '}')
if found ~= 1 then return give_back('the job data does not end in its orderSeq placeholder') end
local ok, added = pcall(bullmq_add_standard_job,
  {KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14], KEYS[15], KEYS[16], KEYS[17]}, {ARGV[12], data, ARGV[14]})
if not ok then return give_back(type(added) == 'table' and tostring(added.err) or tostring(added)) end
if type(added) == 'number' and added < 0 then return give_back('addStandardJob answered ' .. added) end
if dedup == '1' then
  redis.call('set', seenEntry, member, 'PX', idle)
  redis.call('set', seenRequest, member, 'PX', idle)
end
redis.call('del', mutex)
return {'added', member}`;
}

/**
 * KEYS: mutex, seen entry, seen request. ARGV: token, member ('' = no mark), idle TTL.
 * Marks an added job's entry and request id as seen, then releases the mutex
 * if the caller still holds it: one round trip after the add.
 */
export const RELEASE_LUA = `if ARGV[2] ~= '' then
  redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3])
  redis.call('set', KEYS[3], ARGV[2], 'PX', ARGV[3])
end
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0`;

/**
 * KEYS: mutex, deferred, deferred games. ARGV: token, mutex TTL, queue, game, BullMQ prefix.
 * The oldest deferred operation of this queue, if its job id is free now:
 * none · busy (mutex held) · wait (an earlier job of the queue is pending) ·
 * again (it was added before, only its deferral was left: dropped, look again) ·
 * add (member, payload, '1' if a finished job holds the id), mutex held.
 */
export const PROMOTE_LUA = `${ALIVE}
local mutex, deferredKey, deferredGames = KEYS[1], KEYS[2], KEYS[3]
local token, ttl, queue, game, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local best, bestSeq = nil, nil
for _, field in ipairs(redis.call('hkeys', deferredKey)) do
  local q, s = string.match(field, '^(.-)/(%d+)$')
  if q == queue and (bestSeq == nil or tonumber(s) < bestSeq) then best, bestSeq = field, tonumber(s) end
end
if best == nil then
  if redis.call('exists', deferredKey) == 0 then redis.call('srem', deferredGames, game) end
  return {'none'}
end
if not redis.call('set', mutex, token, 'PX', ttl, 'NX') then return {'busy'} end
local job, pending = job_of(prefix, queue, game)
if job and pending then
  if tonumber(job.orderSeq) == bestSeq then
    redis.call('hdel', deferredKey, best)
    return {'again'}
  end
  return {'wait'}
end
return {'add', best, redis.call('hget', deferredKey, best), job and '1' or '0'}`;

/** KEYS: deferred, deferred games. ARGV: member, game. The deferred operation is a job now. */
export const PROMOTED_LUA = `redis.call('hdel', KEYS[1], ARGV[1])
if redis.call('hlen', KEYS[1]) == 0 then redis.call('srem', KEYS[2], ARGV[2]) end
return 1`;

/**
 * KEYS: the game's order, deferred. ARGV: member, BullMQ prefix, game, mutex prefix.
 * 1: the member heads the order; 3: it does, and is moot (see src/jobs/game-order.ts);
 * 0: an earlier operation is pending; 2: a deferred one heads the order and
 * may need its job added; -1: the member is not in the order.
 */
export const TURN_LUA = `${ALIVE}
local key, deferredKey = KEYS[1], KEYS[2]
local me, prefix, game, mutexPrefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local myScore = redis.call('zscore', key, me)
if not myScore then return -1 end
while true do
  local head = redis.call('zrange', key, 0, 0)[1]
  if head == me then
    local mine = string.match(me, '^(.-)/%d+$')
    if mine == 'stop-runtime' then return 1 end
    local stopLater, restartLater = false, false
    for _, m in ipairs(redis.call('zrangebyscore', key, '(' .. myScore, '+inf')) do
      local q = string.match(m, '^(.-)/%d+$')
      if q == 'restart-runtime' then restartLater = true
      elseif q == 'stop-runtime' and alive(prefix, deferredKey, game, m) then stopLater = true end
    end
    if stopLater and not restartLater then return 3 end
    return 1
  end
  local queue = string.match(head, '^(.-)/%d+$')
  if queue ~= nil then
    local kind = string.gsub(queue, '%-runtime$', '')
    if redis.call('exists', mutexPrefix .. kind .. ':' .. game) == 1 then return 0 end
    if alive(prefix, deferredKey, game, head) then
      if redis.call('hexists', deferredKey, head) == 1 then return 2 end
      return 0
    end
  end
  redis.call('zrem', key, head)
end`;

/**
 * KEYS: joins, the game's closed marks. ARGV: member, marks TTL, queue, seq.
 * The operation has its end: no request joins it from now on, and those that
 * did are returned. Only the queue's current job can be joined (its id is the
 * game's), so the queue's highest closed seq says all; it never goes back (a
 * late close of an earlier job does not reopen a later one).
 */
export const CLOSE_LUA = `if tonumber(redis.call('hget', KEYS[2], ARGV[3]) or '0') < tonumber(ARGV[4]) then
  redis.call('hset', KEYS[2], ARGV[3], ARGV[4])
end
redis.call('pexpire', KEYS[2], ARGV[2])
local list = redis.call('hget', KEYS[1], ARGV[1])
redis.call('hdel', KEYS[1], ARGV[1])
return list or ''`;
