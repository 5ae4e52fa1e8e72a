"""Lua scripts that make each job transition one atomic round trip.

Every state change is a compare-and-set: the caller names the states it may move from (and, for a
running job, the run that must hold it), so a late or duplicate delivery cannot move a finished job
backwards or write a second result.
"""

# KEYS: job, events, active zset, expiry zset, tenant index, dedupe
# ARGV: fields (JSON object of strings), now, created score, expires_at, job key prefix,
#       backstop ttl seconds, events maxlen
CREATE_JOB = """
local existing = redis.call('GET', KEYS[6])
if existing then
  local state = redis.call('HGET', ARGV[5] .. existing, 'state')
  if state and state ~= 'cancelled' and state ~= 'dead_lettered' then
    return {'existing', existing}
  end
end
local fields = cjson.decode(ARGV[1])
local flat = {}
for k, v in pairs(fields) do
  flat[#flat + 1] = k
  flat[#flat + 1] = v
end
local ttl = tonumber(ARGV[6])
redis.call('HSET', KEYS[1], unpack(flat))
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[6], fields['task_id'], 'EX', ttl)
redis.call('ZADD', KEYS[5], ARGV[3], fields['task_id'])
redis.call('ZADD', KEYS[3], ARGV[2], fields['task_id'])
redis.call('ZADD', KEYS[4], ARGV[4], fields['task_id'])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'data', ARGV[1])
redis.call('EXPIRE', KEYS[2], ttl)
return {'created', fields['task_id']}
"""

# KEYS: job, events, active zset, expiry zset
# ARGV[1]: JSON spec {task_id, now, from?: [states], run_id?: str, set?: {}, incr?: {},
#                     unset?: [], event: bool, terminal: bool, retention_s, ttl_s, events_maxlen}
# Returns {status, snapshot JSON}; status is ok | missing | conflict.
UPDATE_JOB = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing', ''}
end
local spec = cjson.decode(ARGV[1])
local function snapshot()
  local raw = redis.call('HGETALL', KEYS[1])
  local out = {}
  for i = 1, #raw, 2 do out[raw[i]] = raw[i + 1] end
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
  redis.call('ZREM', KEYS[3], spec['task_id'])
  redis.call('ZADD', KEYS[4], spec['now'] + spec['retention_s'], spec['task_id'])
  redis.call('EXPIRE', KEYS[1], spec['ttl_s'])
  redis.call('EXPIRE', KEYS[2], spec['ttl_s'])
else
  redis.call('ZADD', KEYS[3], spec['now'], spec['task_id'])
end
local snap = snapshot()
if spec['event'] then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', spec['events_maxlen'], '*', 'data', snap)
end
return {'ok', snap}
"""

# KEYS: job, events, active zset, expiry zset, tenant index, dedupe
# ARGV: task_id
# Deletes the job and every index entry; the dedupe pointer only if it still names this job.
DELETE_JOB = """
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
if redis.call('GET', KEYS[6]) == ARGV[1] then
  redis.call('DEL', KEYS[6])
end
return 1
"""
