"""Lua scripts that make each job transition one atomic round trip.

Every state change is a compare-and-set: the caller names the states it may move from (and, for a
running job, the run that must hold it), so a late or duplicate delivery cannot move a finished job
backwards or write a second result. Dead-lettering is part of the same transition, so a job never
reads `dead_lettered` without its dead letter (or the reverse).
"""

from docqueue.jobs.batches import BATCH_LUA

# KEYS: job, events, active zset, expiry zset, tenant index, dedupe, history
# ARGV: fields (JSON object of strings), now, created score, expires_at, job key prefix,
#       backstop ttl seconds, "1" to dedupe (an upload) or "0" (a source_url: its bytes are unknown),
#       the batch to add the job to ("" for none)
# Returns {created | existing, task id, the batch id when adding the existing task ended it}.
# The events stream (KEYS[2]) is not written here: it starts with the job's first change, and a
# reader of a job without one sends the job hash as its first event. A stream costs ~4.5 KB even
# with one entry, more than the rest of a queued job together (see README "Performance").
CREATE_JOB = (
    BATCH_LUA
    + """
local fields = cjson.decode(ARGV[1])
local dedupe = ARGV[7] == '1'
local batch = ARGV[8]
if redis.call('EXISTS', KEYS[1]) == 1 then
  -- The same creation sent again (a client retry after a dropped connection): it already happened.
  return {'created', fields['task_id'], ''}
end
local existing = dedupe and redis.call('GET', KEYS[6])
if existing then
  local state = redis.call('HGET', ARGV[5] .. existing, 'state')
  if state and state ~= 'cancelled' and state ~= 'dead_lettered' then
    local ended = batch ~= '' and batch_add(ARGV[5] .. existing, batch, ARGV[2])
    return {'existing', existing, ended and batch or ''}
  end
end
local flat = {}
for k, v in pairs(fields) do
  flat[#flat + 1] = k
  flat[#flat + 1] = v
end
local ttl = tonumber(ARGV[6])
redis.call('HSET', KEYS[1], unpack(flat))
redis.call('EXPIRE', KEYS[1], ttl)
if dedupe then redis.call('SET', KEYS[6], fields['task_id'], 'EX', ttl) end
redis.call('ZADD', KEYS[5], ARGV[3], fields['task_id'])
redis.call('ZADD', KEYS[3], ARGV[2], fields['task_id'])
redis.call('ZADD', KEYS[4], ARGV[4], fields['task_id'])
redis.call('RPUSH', KEYS[7], cjson.encode({event = 'created', at = ARGV[2]}))
redis.call('EXPIRE', KEYS[7], ttl)
if batch ~= '' then batch_add(KEYS[1], batch, ARGV[2]) end
return {'created', fields['task_id'], ''}
"""
)

# KEYS: job, events, active zset, expiry zset, history, dead letters stream, dead-letter index,
#       tenants' pages in flight
# ARGV[1]: JSON spec {task_id, now, from?: [states], run_id?: str, set?: {}, incr?: {},
#   unset?: [], event: bool, terminal: bool, retention_s (unless the job has its own), grace_s,
#   events_maxlen,
#   history?: {...} (appended with the attempt number and new state),
#   dead_letter?: {...string fields} (appended to the dead letters with tenant, attempts, history),
#   dead_letters_maxlen}
# Returns {status, snapshot JSON}; status is ok | missing | conflict. The snapshot names the
# batches the change ended in `ended_batches` (BATCH_LUA).
UPDATE_JOB = (
    BATCH_LUA
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing', ''}
end
local spec = cjson.decode(ARGV[1])
-- Fair shares: a job's pages count for its tenant (KEYS[8]) from when they are known until it ends.
local function count_pages(total)
  local counted = tonumber(redis.call('HGET', KEYS[1], 'pages_counted') or '0')
  if total ~= counted then
    redis.call('HINCRBY', KEYS[8], redis.call('HGET', KEYS[1], 'tenant'), total - counted)
    if total > 0 then
      redis.call('HSET', KEYS[1], 'pages_counted', total)
    else
      redis.call('HDEL', KEYS[1], 'pages_counted')
    end
  end
end
local function snapshot(ended)
  local raw = redis.call('HGETALL', KEYS[1])
  local out = {}
  for i = 1, #raw, 2 do out[raw[i]] = raw[i + 1] end
  if ended and #ended > 0 then out['ended_batches'] = table.concat(ended, ',') end
  return cjson.encode(out)
end
if spec['from'] then
  local state = redis.call('HGET', KEYS[1], 'state')
  local allowed = false
  for _, s in ipairs(spec['from']) do
    if s == state then allowed = true end
  end
  if not allowed then return {'conflict', snapshot()} end
end
if spec['run_id'] then
  if redis.call('HGET', KEYS[1], 'run_id') ~= spec['run_id'] then
    return {'conflict', snapshot()}
  end
end
local batch_before = batch_view(KEYS[1])
if spec['set'] then
  local flat = {}
  for k, v in pairs(spec['set']) do
    flat[#flat + 1] = k
    flat[#flat + 1] = v
  end
  if #flat > 0 then redis.call('HSET', KEYS[1], unpack(flat)) end
end
if spec['incr'] then
  for k, v in pairs(spec['incr']) do redis.call('HINCRBY', KEYS[1], k, v) end
end
if spec['unset'] and #spec['unset'] > 0 then
  redis.call('HDEL', KEYS[1], unpack(spec['unset']))
end
redis.call('HSET', KEYS[1], 'updated_at', spec['now'])
if spec['terminal'] then
  count_pages(0)
elseif spec['set'] and spec['set']['pages_total'] then
  count_pages(tonumber(spec['set']['pages_total']))
end
if spec['terminal'] then
  local retention = tonumber(redis.call('HGET', KEYS[1], 'retention_s') or '') or spec['retention_s']
  local ttl = retention + spec['grace_s']
  redis.call('ZREM', KEYS[3], spec['task_id'])
  redis.call('ZADD', KEYS[4], spec['now'] + retention, spec['task_id'])
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[5], ttl)
  -- Into the webhook outbox (keys.WEBHOOKS_DUE) when it ends now and has a webhook.
  if not BATCH_TERMINAL[batch_before.state] and redis.call('HEXISTS', KEYS[1], 'callback_url') == 1 then
    redis.call('ZADD', WEBHOOKS_DUE, spec['now'], WEBHOOK_PREFIX .. 'task:' .. spec['task_id'])
  end
else
  redis.call('ZADD', KEYS[3], spec['now'], spec['task_id'])
end
if spec['history'] then
  local entry = spec['history']
  entry['at'] = spec['now']
  entry['attempt'] = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
  entry['state'] = redis.call('HGET', KEYS[1], 'state')
  redis.call('RPUSH', KEYS[5], cjson.encode(entry))
end
if spec['dead_letter'] then
  local fields = {}
  for k, v in pairs(spec['dead_letter']) do
    fields[#fields + 1] = k
    fields[#fields + 1] = v
  end
  fields[#fields + 1] = 'task_id'
  fields[#fields + 1] = spec['task_id']
  fields[#fields + 1] = 'tenant'
  fields[#fields + 1] = redis.call('HGET', KEYS[1], 'tenant')
  fields[#fields + 1] = 'attempts'
  fields[#fields + 1] = redis.call('HGET', KEYS[1], 'attempts') or '0'
  fields[#fields + 1] = 'history'
  fields[#fields + 1] = '[' .. table.concat(redis.call('LRANGE', KEYS[5], 0, -1), ',') .. ']'
  fields[#fields + 1] = 'dead_lettered_at'
  fields[#fields + 1] = spec['now']
  local id = redis.call('XADD', KEYS[6], 'MAXLEN', '~', spec['dead_letters_maxlen'], '*', unpack(fields))
  redis.call('HSET', KEYS[7], spec['task_id'], id)
end
local snap = snapshot(batch_sync(KEYS[1], batch_before, spec['now']))
if spec['event'] then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', spec['events_maxlen'], '*', 'data', snap)
end
return {'ok', snap}
"""
)


# KEYS: job, events, active zset, expiry zset, tenant index, dedupe, history, dead-letter index,
#       webhook attempts, parts, tenants' pages in flight
# ARGV: task_id
# Deletes the job and every index entry; the dedupe pointer only if it still names this job.
DELETE_JOB = """
local counted = tonumber(redis.call('HGET', KEYS[1], 'pages_counted') or '0')
if counted > 0 then
  redis.call('HINCRBY', KEYS[11], redis.call('HGET', KEYS[1], 'tenant'), -counted)
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[7], KEYS[9], KEYS[10])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('HDEL', KEYS[8], ARGV[1])
if redis.call('GET', KEYS[6]) == ARGV[1] then
  redis.call('DEL', KEYS[6])
end
return 1
"""
