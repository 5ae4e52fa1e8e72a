"""Parts: the page ranges a large document is processed in, each a message any worker can take.

A run that opens a paged document of `split_min_pages` or more does not read it: it *splits* the
job (SPLIT_JOB) into parts of `split_pages_per_part` pages and publishes one `documents.process_part`
message per part, then lets go. The job stays `running` under that run's id (the *split run*) and
every part's write refreshes it, so beat's reconciler sees a split job as alive while any part
runs or waits in a queue. A part is claimed, beats, reports pages and is stored under its own
compare-and-set (UPDATE_PART), and only while the job is still running under the split run: a
cancel, a takeover or a replay stops every part at its next write. The delivery that stores the
last part assembles the result (chunking runs once, over every page); if it dies, the reconciler
re-queues the job and the next run splits it again, keeping the parts already stored, so only
the rest run again (a dead-letter replay does the same).

Records live in one hash per job (`keys.job_parts`), field = part index, value = JSON:
  first, last   the part's pages (1-based, inclusive)
  state         queued | running | stored
  claim         the delivery holding a running part (a fresh id per claim)
  holder        host:pid of that delivery
  at            its last write (epoch seconds): a part not written for a lease is free
  attempts      claims so far, kept across re-splits (the poison cap counts per part)
  done          pages of the part reported done, the most ever (so the job's pages_done, their
                sum, never goes back when a part runs again)
  key           the stored part's blob (storage.base.part_key)
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from docqueue.jobs import keys
from docqueue.jobs.batches import BATCH_LUA
from docqueue.jobs.commands import BACKSTOP_GRACE_S, EVENTS_MAXLEN, stamp
from docqueue.text import as_text

QUEUED = "queued"
RUNNING = "running"
STORED = "stored"


@dataclass(frozen=True)
class PartRange:
    index: int
    first: int  # 1-based, inclusive
    last: int

    @property
    def pages(self) -> int:
        return self.last - self.first + 1


def plan(page_count: int, pages_per_part: int) -> list[PartRange]:
    """Consecutive ranges of `pages_per_part` pages; the last one may be shorter."""
    return [
        PartRange(index, first, min(first + pages_per_part - 1, page_count))
        for index, first in enumerate(range(1, page_count + 1, pages_per_part))
    ]


def should_split(page_count: int, min_pages: int, pages_per_part: int) -> bool:
    """Split when the document is long enough and would make two parts or more."""
    return min_pages > 0 and page_count >= min_pages and page_count > pages_per_part


# The share of the soft time limit an OCR part's pages may fill at their budget (the rest: opening,
# storing, a slow page).
OCR_PART_SHARE = 0.8


def part_size(page_count: int, read_by_ocr: Callable[[], bool], settings: "SplitSettings") -> int | None:
    """Pages per part when a document of `page_count` pages is split, or None when it is read
    whole. A document read by OCR (`read_by_ocr`, asked only when it matters) whose pages would
    not all fit the soft time limit at their budget is split whatever its length, in parts that
    do fit. split_min_pages=0 turns every split off."""
    if settings.split_min_pages <= 0:
        return None
    size = settings.split_pages_per_part
    if settings.ocr_page_budget_s > 0:
        fit = max(1, int(OCR_PART_SHARE * settings.task_soft_time_limit_s / settings.ocr_page_budget_s))
        needs_ocr_size = page_count > fit or (fit < size and page_count >= settings.split_min_pages)
        if needs_ocr_size and read_by_ocr():
            size = min(size, fit)
            if page_count > fit:
                return size
    return size if should_split(page_count, settings.split_min_pages, size) else None


class SplitSettings(Protocol):
    split_min_pages: int
    split_pages_per_part: int
    task_soft_time_limit_s: int
    ocr_page_budget_s: float


@dataclass(frozen=True)
class Part:
    index: int
    first: int
    last: int
    state: str
    attempts: int = 0
    done: int = 0
    claim: str | None = None
    holder: str | None = None
    at: float = 0.0
    key: str | None = None

    @classmethod
    def parse(cls, index: int, raw: Any) -> "Part":
        return cls.of(index, json.loads(as_text(raw)))

    @classmethod
    def of(cls, index: int, fields: dict[str, Any]) -> "Part":
        return cls(
            index=index,
            first=int(fields["first"]),
            last=int(fields["last"]),
            state=str(fields["state"]),
            attempts=int(fields.get("attempts", 0)),
            done=int(fields.get("done", 0)),
            claim=fields.get("claim") or None,
            holder=fields.get("holder") or None,
            at=float(fields.get("at", 0)),
            key=fields.get("key") or None,
        )


@dataclass(frozen=True)
class PartReply:
    """What a part write found: `ok`, `missing` (no job or part), `cancelled`, or `conflict`
    (the job left the split run, or another delivery holds the part)."""

    status: str
    parts_done: int = 0
    parts_total: int = 0
    part: Part | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# KEYS: job, parts, events, active zset, tenants' pages in flight
# ARGV[1]: JSON {run_id, now, ranges: [[first, last], ...], ttl, events_maxlen, reset_attempts}
# Returns {status, JSON list of the indexes to publish}. A stored part whose range is unchanged is
# kept (its pages count as done); every other part starts queued, keeping its attempts (the poison
# cap counts across heals) unless `reset_attempts` (a replay: the job's attempts restarted too).
SPLIT_JOB = (
    BATCH_LUA
    + """
local spec = cjson.decode(ARGV[1])
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing', '[]'} end
if state ~= 'running' or redis.call('HGET', KEYS[1], 'run_id') ~= spec['run_id'] then
  return {'conflict', '[]'}
end
local batch_before = batch_view(KEYS[1])
local old = {}
local raw = redis.call('HGETALL', KEYS[2])
for i = 1, #raw, 2 do old[raw[i]] = cjson.decode(raw[i + 1]) end
redis.call('DEL', KEYS[2])
local publish, stored, pages = {}, 0, 0
for i, range in ipairs(spec['ranges']) do
  local index = tostring(i - 1)
  local prev = old[index]
  local same = prev and prev['first'] == range[1] and prev['last'] == range[2]
  local part
  if same and prev['state'] == 'stored' then
    part = prev
    stored = stored + 1
    pages = pages + range[2] - range[1] + 1
  else
    local kept = (same and not spec['reset_attempts']) and prev['attempts'] or 0
    part = {first = range[1], last = range[2], state = 'queued', attempts = kept,
            done = 0, at = spec['now']}
    publish[#publish + 1] = i - 1
  end
  redis.call('HSET', KEYS[2], index, cjson.encode(part))
end
redis.call('EXPIRE', KEYS[2], spec['ttl'])
local last = spec['ranges'][#spec['ranges']]
redis.call('HSET', KEYS[1], 'parts_total', #spec['ranges'], 'parts_done', stored, 'pages_done', pages,
  'pages_total', last[2], 'stage', 'extracting', 'holder', 'parts', 'updated_at', spec['now'])
redis.call('ZADD', KEYS[4], spec['now'], redis.call('HGET', KEYS[1], 'task_id'))
-- Fair shares (scripts.UPDATE_JOB): the document's pages count for its tenant until it ends.
local counted = tonumber(redis.call('HGET', KEYS[1], 'pages_counted') or '0')
if last[2] ~= counted then
  redis.call('HINCRBY', KEYS[5], redis.call('HGET', KEYS[1], 'tenant'), last[2] - counted)
  redis.call('HSET', KEYS[1], 'pages_counted', last[2])
end
local snap = {}
raw = redis.call('HGETALL', KEYS[1])
for i = 1, #raw, 2 do snap[raw[i]] = raw[i + 1] end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', spec['events_maxlen'], '*', 'data', cjson.encode(snap))
batch_sync(KEYS[1], batch_before, spec['now'])
if #publish == 0 then return {'ok', '[]'} end
return {'ok', cjson.encode(publish)}
"""
)

# KEYS: job, parts, events, active zset
# ARGV[1]: JSON {op: claim | progress | store | release, run_id, index, now, claim,
#   prev_claim? (claim: the running claim being taken over), holder? (claim), pages_done?
#   (progress), key? (store), events_maxlen}
# Returns {status, JSON {part, parts_done, parts_total}}; status is ok | missing | cancelled |
# conflict. Every accepted write refreshes the job's updated_at and its place in the active zset.
UPDATE_PART = (
    BATCH_LUA
    + """
local spec = cjson.decode(ARGV[1])
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing', '{}'} end
if state == 'cancelled' then return {'cancelled', '{}'} end
if state ~= 'running' or redis.call('HGET', KEYS[1], 'run_id') ~= spec['run_id'] then
  return {'conflict', '{}'}
end
local index = tostring(spec['index'])
local raw = redis.call('HGET', KEYS[2], index)
if not raw then return {'missing', '{}'} end
local part = cjson.decode(raw)
local op = spec['op']
local event = false
local batch_before = batch_view(KEYS[1])
if op == 'claim' then
  local free = part['state'] == 'queued'
  local taken_over = part['state'] == 'running' and spec['prev_claim'] and part['claim'] == spec['prev_claim']
  if not (free or taken_over) then return {'conflict', cjson.encode({part = part})} end
  part['state'] = 'running'
  part['claim'] = spec['claim']
  part['holder'] = spec['holder']
  part['attempts'] = (part['attempts'] or 0) + 1
else
  if part['state'] ~= 'running' or part['claim'] ~= spec['claim'] then
    return {'conflict', cjson.encode({part = part})}
  end
end
local function add_done(pages)
  local more = pages - (part['done'] or 0)
  if more > 0 then
    redis.call('HINCRBY', KEYS[1], 'pages_done', more)
    part['done'] = pages
    event = true
  end
end
if op == 'progress' then
  add_done(spec['pages_done'])
elseif op == 'store' then
  add_done(part['last'] - part['first'] + 1)
  part['state'] = 'stored'
  part['key'] = spec['key']
  part['claim'] = nil
  redis.call('HINCRBY', KEYS[1], 'parts_done', 1)
  event = true
elseif op == 'release' then
  part['state'] = 'queued'
  part['claim'] = nil
end
part['at'] = spec['now']
redis.call('HSET', KEYS[2], index, cjson.encode(part))
redis.call('HSET', KEYS[1], 'updated_at', spec['now'])
redis.call('ZADD', KEYS[4], spec['now'], redis.call('HGET', KEYS[1], 'task_id'))
batch_sync(KEYS[1], batch_before, spec['now'])
if event then
  local snap = {}
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do snap[fields[i]] = fields[i + 1] end
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', spec['events_maxlen'], '*', 'data', cjson.encode(snap))
end
return {'ok', cjson.encode({
  part = part,
  parts_done = tonumber(redis.call('HGET', KEYS[1], 'parts_done')),
  parts_total = tonumber(redis.call('HGET', KEYS[1], 'parts_total')),
})}
"""
)


def part_keys(task_id: str) -> list[str]:
    return [
        keys.job(task_id),
        keys.job_parts(task_id),
        keys.job_events(task_id),
        keys.ACTIVE_JOBS,
        keys.TENANT_PAGES_IN_FLIGHT,
    ]


def split_args(
    run_id: str, ranges: list[PartRange], now: float, retention_s: int, reset_attempts: bool = False
) -> list[str]:
    spec = {
        "reset_attempts": reset_attempts,
        "run_id": run_id,
        "now": stamp(now),
        "ranges": [[r.first, r.last] for r in ranges],
        # As long as the job's own backstop: retention deletes the hash with the job.
        "ttl": retention_s + BACKSTOP_GRACE_S,
        "events_maxlen": EVENTS_MAXLEN,
    }
    return [json.dumps(spec)]


def part_args(op: str, run_id: str, index: int, claim: str, now: float, **extra: Any) -> list[str]:
    spec = {"op": op, "run_id": run_id, "index": index, "claim": claim, "now": stamp(now),
            "events_maxlen": EVENTS_MAXLEN, **extra}  # fmt: skip
    return [json.dumps(spec)]


def parse_reply(index: int, reply: Any) -> PartReply:
    status, body = (as_text(item) for item in reply)
    fields = json.loads(body) if body else {}
    part = fields.get("part")
    return PartReply(
        status=status,
        parts_done=int(fields.get("parts_done") or 0),
        parts_total=int(fields.get("parts_total") or 0),
        part=Part.of(index, part) if part else None,
    )
