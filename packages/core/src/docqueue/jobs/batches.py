"""Batches: many documents submitted in one request, each an ordinary task, followed as one.

A batch's record (`keys.batch`, a hash) holds its counters: `total` members, `created` so far,
`n:<state>` members per job state, `terminal` members, and `pages_done` / `pages_total` over all
members. The job scripts keep them: every member job names its batches in its `batches` field, and
CREATE_JOB, UPDATE_JOB, SPLIT_JOB and UPDATE_PART move the job's old state and page counts out of
each of its batches and its new ones in, in the same atomic step as the job change (BATCH_LUA).
The step that makes every member created and terminal ends the batch (`succeeded` when every member
succeeded, else `completed_with_errors`), appends its last event, sets its expiry and names it in
the record it returns (`ended_batches`), so the process that made the change queues the batch's
one webhook (and, with a `callback_url`, writes it into the webhook outbox, `keys.WEBHOOKS_DUE`,
should that process die first); a dead-letter replay of a member reopens it (`running`), and its
next end is a new event. Every counted change appends the batch's record and the member that
moved to the batch's event stream (`keys.batch_events`), for `GET /v1/batches/{id}/events`.

A document the same tenant already submitted with the same options (dedupe) is not processed
again: the existing task becomes the member, counted as it stands.

Until its last member is created a batch is in `keys.BATCHES_CREATING`; one left there (the API's
request failed part way) is closed by beat on the members it has (CLOSE_ABANDONED_BATCH).
"""

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel

from docqueue import names
from docqueue.jobs import keys
from docqueue.jobs.commands import BACKSTOP_GRACE_S, EVENTS_MAXLEN, stamp
from docqueue.jobs.model import JobState, percent_done
from docqueue.text import as_text


class BatchState(StrEnum):
    RUNNING = "running"  # some member has not ended
    SUCCEEDED = "succeeded"  # every member succeeded
    COMPLETED_WITH_ERRORS = "completed_with_errors"  # every member ended, not all succeeded


class Batch(BaseModel):
    """A batch's record, as stored under `docqueue:batch:{batch_id}`."""

    batch_id: str
    tenant: str
    state: BatchState = BatchState.RUNNING
    total: int
    created: int = 0
    terminal: int = 0
    counts: dict[JobState, int] = {}
    pages_done: int = 0
    pages_total: int = 0
    created_at: float
    updated_at: float
    ended_at: float | None = None
    callback_url: str | None = None
    # Seconds the batch is kept once it ended (the members' retention).
    retention_s: int

    @property
    def is_running(self) -> bool:
        return self.state == BatchState.RUNNING

    @property
    def percent(self) -> float:
        return percent_done(self.state == BatchState.SUCCEEDED, self.pages_done, self.pages_total)

    def expires_at(self) -> float:
        """As a job's: its retention after it ended, or after it was created while it runs."""
        return (self.ended_at or self.created_at) + self.retention_s

    @classmethod
    def from_redis(cls, raw: Mapping[Any, Any]) -> Self:
        fields = {as_text(key): as_text(value) for key, value in raw.items()}
        counts = {
            JobState(name[2:]): int(value)
            for name, value in fields.items()
            if name.startswith("n:") and name[2:] in JobState.__members__.values() and int(value)
        }
        clean: dict[str, Any] = {
            key: value for key, value in fields.items() if value != "" and not key.startswith("n:")
        }
        return cls.model_validate({**clean, "counts": counts})


# Lua shared by the job scripts (prepended to each): how a job's change moves its batches.
BATCH_LUA = f"""
local BATCH_PREFIX = '{keys.BATCH_PREFIX}'
local BATCH_TERMINAL = {{succeeded = true, failed = true, cancelled = true, dead_lettered = true}}
local BATCH_EVENTS_MAXLEN = {EVENTS_MAXLEN}
local BATCH_GRACE_S = {BACKSTOP_GRACE_S}
local WEBHOOKS_DUE = '{keys.WEBHOOKS_DUE}'
local BATCHES_CREATING = '{keys.BATCHES_CREATING}'
local WEBHOOK_PREFIX = '{names.WEBHOOK_MESSAGE_PREFIX}'

-- What a job counts for in its batches now (nil batches: it is in none).
local function batch_view(job)
  local v = redis.call('HMGET', job, 'batches', 'state', 'pages_done', 'pages_total', 'task_id')
  return {{batches = v[1], state = v[2], done = tonumber(v[3]) or 0, total = tonumber(v[4]) or 0,
          task_id = v[5]}}
end

-- Move one member of the batch `key` from `before` (nil: a member just added) to `after`.
local function batch_move(key, before, after)
  if before == nil or before.state ~= after.state then
    if before then redis.call('HINCRBY', key, 'n:' .. before.state, -1) end
    redis.call('HINCRBY', key, 'n:' .. after.state, 1)
    local was = (before and BATCH_TERMINAL[before.state]) and 1 or 0
    local now_ = BATCH_TERMINAL[after.state] and 1 or 0
    if now_ ~= was then redis.call('HINCRBY', key, 'terminal', now_ - was) end
  end
  local done = after.done - (before and before.done or 0)
  if done ~= 0 then redis.call('HINCRBY', key, 'pages_done', done) end
  local total = after.total - (before and before.total or 0)
  if total ~= 0 then redis.call('HINCRBY', key, 'pages_total', total) end
end

-- After a move (of `member`; nil when the batch was closed on the members it has): end the batch
-- once every member is created and terminal, or reopen it when a member came back (a replay);
-- append the event. True when it ended now and has a webhook.
local function batch_settle(key, now, member)
  local b = redis.call('HMGET', key, 'total', 'created', 'terminal', 'state', 'n:succeeded',
                       'retention_s', 'callback_url')
  local total, created, terminal = tonumber(b[1]), tonumber(b[2]), tonumber(b[3]) or 0
  local ended = false
  local ttl = nil
  if created == total and terminal == total and b[4] == 'running' then
    local state = 'completed_with_errors'
    if tonumber(b[5] or '0') == total then state = 'succeeded' end
    redis.call('HSET', key, 'state', state, 'ended_at', now)
    ttl = tonumber(b[6])
    ended = b[7] ~= false
    if ended then
      redis.call('ZADD', WEBHOOKS_DUE, now, WEBHOOK_PREFIX .. 'batch:' .. string.sub(key, #BATCH_PREFIX + 1))
    end
  elseif terminal < total and b[4] ~= 'running' then
    redis.call('HSET', key, 'state', 'running')
    redis.call('HDEL', key, 'ended_at')
    ttl = tonumber(b[6]) + BATCH_GRACE_S
  end
  if ttl then
    redis.call('EXPIRE', key, ttl)
    redis.call('EXPIRE', key .. ':members', ttl)
  end
  redis.call('HSET', key, 'updated_at', now)
  local raw = redis.call('HGETALL', key)
  local snap = {{}}
  for i = 1, #raw, 2 do snap[raw[i]] = raw[i + 1] end
  if member then
    snap['member'] = cjson.encode({{task_id = member.task_id, state = member.state,
                                   pages_done = member.done, pages_total = member.total}})
  end
  local events = key .. ':events'
  redis.call('XADD', events, 'MAXLEN', '~', BATCH_EVENTS_MAXLEN, '*', 'data', cjson.encode(snap))
  redis.call('PEXPIRE', events, redis.call('PTTL', key))
  return ended
end

-- Add the job `job` (new, or an existing task a duplicate upload found) to the batch `id`: true
-- when that ended the batch with a webhook to send.
local function batch_add(job, id, now)
  local key = BATCH_PREFIX .. id
  if redis.call('EXISTS', key) == 0 then return false end
  local b = redis.call('HMGET', key, 'created', 'total')
  -- Closed on fewer members (its creation was abandoned): the job stays a task of its own.
  if tonumber(b[1]) >= tonumber(b[2]) then return false end
  local view = batch_view(job)
  redis.call('HSET', job, 'batches', view.batches and (view.batches .. ',' .. id) or id)
  redis.call('RPUSH', key .. ':members', view.task_id)
  redis.call('PEXPIRE', key .. ':members', redis.call('PTTL', key))
  if redis.call('HINCRBY', key, 'created', 1) == tonumber(b[2]) then
    redis.call('ZREM', BATCHES_CREATING, id)
  end
  batch_move(key, nil, view)
  if BATCH_TERMINAL[view.state] then return batch_settle(key, now, view) end
  return false
end

-- After a job changed from `before` (batch_view): move it in each of its batches. The ids of
-- the batches this change ended (with a webhook to send).
local function batch_sync(job, before, now)
  if not before.batches then return {{}} end
  local after = batch_view(job)
  if after.state == before.state and after.done == before.done and after.total == before.total then
    return {{}}
  end
  local ended = {{}}
  for id in string.gmatch(before.batches, '[^,]+') do
    local key = BATCH_PREFIX .. id
    if redis.call('EXISTS', key) == 1 then
      batch_move(key, before, after)
      if batch_settle(key, now, after) then ended[#ended + 1] = id end
    end
  end
  return ended
end
"""

# KEYS: batch, tenant's batches, batches being created
# ARGV[1]: JSON {batch_id, tenant, total, created_at, callback_url?, retention_s, ttl}
# A batch starts `running` with no member; CREATE_JOB adds each (fields `batches` = its id).
CREATE_BATCH = """
local spec = cjson.decode(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fields = {'batch_id', spec['batch_id'], 'tenant', spec['tenant'], 'state', 'running',
  'total', spec['total'], 'created', 0, 'terminal', 0, 'pages_done', 0, 'pages_total', 0,
  'created_at', spec['created_at'], 'updated_at', spec['created_at'], 'retention_s', spec['retention_s']}
if spec['callback_url'] then
  fields[#fields + 1] = 'callback_url'
  fields[#fields + 1] = spec['callback_url']
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], spec['ttl'])
redis.call('ZADD', KEYS[2], spec['created_at'], spec['batch_id'])
redis.call('ZADD', KEYS[3], spec['created_at'], spec['batch_id'])
return 1
"""

# A batch whose creation was abandoned (the API's request failed after some members were created:
# it answered 503, and a retry makes a batch of its own) is closed on the members it has, so it
# ends when they end instead of running until it expires; one with none is deleted.
# KEYS: none (the batch's keys derive from its id). ARGV: batch id, now.
# Returns {'closed' (or 'ended': and its webhook is due), or 'deleted' (then the tenant, whose
# index the caller cleans), or '' (complete, or gone)}.
CLOSE_ABANDONED_BATCH = (
    BATCH_LUA
    + """
local id, now = ARGV[1], ARGV[2]
local key = BATCH_PREFIX .. id
redis.call('ZREM', BATCHES_CREATING, id)
local b = redis.call('HMGET', key, 'created', 'total', 'tenant')
if not b[1] or tonumber(b[1]) >= tonumber(b[2]) then return {''} end
if tonumber(b[1]) == 0 then
  redis.call('DEL', key, key .. ':members', key .. ':events')
  return {'deleted', b[3]}
end
redis.call('HSET', key, 'total', b[1])
if batch_settle(key, now, nil) then return {'ended'} end
return {'closed'}
"""
)


def create_batch_keys(batch: Batch) -> list[str]:
    return [keys.batch(batch.batch_id), keys.tenant_batches(batch.tenant), keys.BATCHES_CREATING]


def create_batch_args(batch: Batch) -> list[str]:
    spec = {
        "batch_id": batch.batch_id,
        "tenant": batch.tenant,
        "total": batch.total,
        "created_at": stamp(batch.created_at),
        "callback_url": batch.callback_url,
        "retention_s": batch.retention_s,
        # Until it ends (then exactly its retention): as long as a running job's backstop.
        "ttl": batch.retention_s + BACKSTOP_GRACE_S,
    }
    return [json.dumps({key: value for key, value in spec.items() if value is not None})]
