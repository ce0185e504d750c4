/**
 * One Lua script that adds a whole flush of jobs (every webhook batch of one event-loop turn) in a
 * single Redis command.
 *
 * Why not BullMQ's own `addJob`: it costs one script call per job, each with msgpack-encoded
 * arguments, a `Job` object and a transaction slot; at webhook rates that was a third of the API's
 * CPU (docs/performance.md). This script writes exactly what BullMQ 5's `addStandardJob` and
 * `addDelayedJob` write for the options we use (no parents, priorities, repeats or deduplication
 * ids): the job hash, the wait (or paused) list or the delayed set, the worker marker and the
 * `added` / `waiting` / `delayed` / `duplicated` events. `enqueue-script.test.ts` adds the same jobs
 * both ways and compares what lands in Redis, so a BullMQ upgrade that changes its layout fails
 * there, not in production. bullmq is pinned to an exact version for the same reason.
 *
 * Atomicity: a script runs alone, and every command it writes with (HSET, HMSET, LPUSH, ZADD, XADD) is one
 * Redis refuses when out of memory. Redis checks that on a script's first write only: refused there,
 * the script stops having written nothing; past it, it runs to the end. So a flush is added all or
 * nothing, as with the MULTI/EXEC it replaces (test/redis-faults.test.ts fills a private Redis).
 *
 * Not done on purpose: BullMQ increments `<queue>:id` on every add, a counter it only uses to name
 * jobs added without an id; every Switchboard job has its id, so the counter is left alone.
 */
import { createHash } from 'node:crypto';

export const ENQUEUE_SCRIPT = `
local rcall = redis.call
local timestamp = ARGV[1]

local queues = {}
local function queueState(base)
  local state = queues[base]
  if state then return state end
  local meta = base .. "meta"
  local maxEvents = rcall("HGET", meta, "opts.maxLenEvents")
  if not maxEvents then
    maxEvents = 10000
    rcall("HSET", meta, "opts.maxLenEvents", maxEvents)
  end
  -- BullMQ's getTargetQueueList: a paused queue collects jobs in "paused"; a queue at its global
  -- concurrency keeps them in "wait" without waking a worker.
  local attributes = rcall("HMGET", meta, "paused", "concurrency")
  local target = base .. "wait"
  local isPausedOrMaxed = false
  if attributes[1] then
    target = base .. "paused"
    isPausedOrMaxed = true
  elseif attributes[2] and rcall("LLEN", base .. "active") >= tonumber(attributes[2]) then
    isPausedOrMaxed = true
  end
  state = { events = base .. "events", maxEvents = maxEvents, target = target,
    isPausedOrMaxed = isPausedOrMaxed, hasWaiting = false, hasDelayed = false }
  queues[base] = state
  return state
end

local results = {}
for i = 2, #ARGV, 6 do
  local base, jobId, name, data, opts = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local delay = tonumber(ARGV[i + 5])
  local state = queueState(base)
  local jobKey = base .. jobId
  if rcall("EXISTS", jobKey) == 1 then
    rcall("XADD", state.events, "MAXLEN", "~", state.maxEvents, "*", "event", "duplicated", "jobId", jobId)
    results[#results + 1] = 1
  else
    rcall("HMSET", jobKey, "name", name, "data", data, "opts", opts, "timestamp", timestamp,
      "delay", delay, "priority", 0)
    rcall("XADD", state.events, "*", "event", "added", "jobId", jobId, "name", name)
    if delay > 0 then
      -- BullMQ's getDelayedScore: the due time in the high bits, an order within the millisecond below.
      local delayedKey = base .. "delayed"
      local dueAt = tonumber(timestamp) + delay
      local minScore = dueAt * 0x1000
      local maxScore = (dueAt + 1) * 0x1000 - 1
      local score = minScore
      local last = rcall("ZREVRANGEBYSCORE", delayedKey, maxScore, minScore, "WITHSCORES", "LIMIT", 0, 1)
      local lastScore = tonumber(last[2])
      if lastScore ~= nil then
        if lastScore >= maxScore then score = maxScore else score = lastScore + 1 end
      end
      rcall("ZADD", delayedKey, score, jobId)
      rcall("XADD", state.events, "MAXLEN", "~", state.maxEvents, "*", "event", "delayed", "jobId", jobId, "delay", dueAt)
      state.hasDelayed = true
    else
      rcall("LPUSH", state.target, jobId)
      rcall("XADD", state.events, "MAXLEN", "~", state.maxEvents, "*", "event", "waiting", "jobId", jobId)
      state.hasWaiting = true
    end
    results[#results + 1] = 0
  end
end

-- Wake the workers once per queue: "0" means a job is waiting, "1" scores the next delayed job.
for base, state in pairs(queues) do
  local marker = base .. "marker"
  if state.hasWaiting and not state.isPausedOrMaxed then rcall("ZADD", marker, 0, "0") end
  if state.hasDelayed then
    local first = rcall("ZRANGE", base .. "delayed", 0, 0, "WITHSCORES")
    local nextScore = tonumber(first[2])
    if nextScore ~= nil then rcall("ZADD", marker, nextScore / 0x1000, "1") end
  end
end
return results
`;

export const ENQUEUE_SCRIPT_SHA = createHash('sha1').update(ENQUEUE_SCRIPT).digest('hex');

/** One job as the script reads it: six arguments. */
export interface ScriptJob {
  /** The queue's key prefix, `<prefix>:<queue>:` (BullMQ's `queue.keys['']`). */
  queueKeyBase: string;
  jobId: string;
  name: string;
  /** The payload, JSON. */
  data: string;
  /** BullMQ's job options, JSON, exactly as `queue.add` would store them. */
  options: string;
  delayMs: number;
}

/** The script's ARGV: the timestamp, then six values per job, in order. */
export function enqueueScriptArguments(timestamp: number, jobs: ReadonlyArray<ScriptJob>): string[] {
  const args = new Array<string>(1 + jobs.length * 6);
  args[0] = String(timestamp);
  let at = 1;
  for (const job of jobs) {
    args[at++] = job.queueKeyBase;
    args[at++] = job.jobId;
    args[at++] = job.name;
    args[at++] = job.data;
    args[at++] = job.options;
    args[at++] = String(job.delayMs);
  }
  return args;
}
