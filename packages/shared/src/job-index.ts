import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { endedCancelledLua } from './cancel.ts';
import type { JobState } from './status.ts';

/*
 * The job index: what listings and status pages read instead of BullMQ's job bodies.
 *
 * Under `<prefix>:kitsu-actions:idx:`, written by the receiver as it queues a job (pipelined with the add):
 *   summary, tasks   hashes, id -> JobSummary as JSON, and id -> the task ids comma-joined (read only for
 *                    one job's status: a selection may hold thousands)
 *   meta             hash, id -> "person|scope|action": which sets to leave once the job is gone
 *   all, person:<id>, action:<id>, scope:<project ids, sorted, comma-joined> (+ the set `scopes`),
 *   open (not finished yet), done:completed|failed|cancelled, cancelreq (queued jobs a person cancelled):
 *                    sorted sets scored by the job's creation time, so a page of any filter is a
 *                    ZREVRANGE with an exact ZCARD
 *   fin:<queue>:completed|failed   finished jobs by finish time, as BullMQ orders them for retention
 *   cursor:<queue>   how far BullMQ's event stream of the queue has been read
 * and in the job's own hash, next to BullMQ's fields (gone with the job), written by the worker:
 *   ka:result        the result as the status view shows it (resultSummaryOf)
 *   ka:report        the Kitsu report outcome
 *   ka:cancelled     how the job ended cancelled (cancel.ts)
 *
 * Every listing first syncs: open jobs BullMQ has finished since (read from its event stream) move to
 * done:*, and jobs BullMQ's retention removed (always the oldest by finish time, so a prefix of fin:*)
 * leave every set. The index therefore counts what BullMQ holds, beyond any scan limit.
 */

const common = `
local rcall = redis.call
local prefix = ARGV[1]
local idx = prefix .. ':kitsu-actions:idx:'
local function queueOf(id) return string.match(id, '^([^-]+)-') end
local function forget(id)
  for _, name in ipairs({'all', 'open', 'cancelreq', 'done:completed', 'done:failed', 'done:cancelled'}) do
    rcall('ZREM', idx .. name, id)
  end
  local meta = rcall('HGET', idx .. 'meta', id)
  if meta then
    local person, scope, action = string.match(meta, '^([^|]*)|([^|]*)|(.*)$')
    if person then
      rcall('ZREM', idx .. 'person:' .. person, id)
      rcall('ZREM', idx .. 'action:' .. action, id)
      if scope ~= '' then
        rcall('ZREM', idx .. 'scope:' .. scope, id)
        if rcall('ZCARD', idx .. 'scope:' .. scope) == 0 then rcall('SREM', idx .. 'scopes', scope) end
      end
    end
    rcall('HDEL', idx .. 'meta', id)
  end
  rcall('HDEL', idx .. 'summary', id)
  rcall('HDEL', idx .. 'tasks', id)
end
-- An entry is written just before BullMQ's add: a missing job is only gone once this much older.
local function settled(created)
  local now = rcall('TIME')
  return tonumber(created) < tonumber(now[1]) * 1000 - 10000
end
`;

/**
 * Keeping the index in step with BullMQ. A job's end is read from BullMQ's event stream of its queue
 * (from where the last read stopped: only what happened since), and jobs BullMQ's retention removed are
 * found at the start of fin:* (retention removes the oldest by finish time first; it leaves no event).
 */
const sync = `
-- A job of ours that BullMQ may have finished: filed under done:* and fin:*, out of open.
local function settle(id)
  local created = rcall('ZSCORE', idx .. 'open', id)
  local q = queueOf(id)
  if not created or q == nil then return end
  local base = prefix .. ':' .. q .. ':'
  local set = 'completed'
  local finished = rcall('ZSCORE', base .. 'completed', id)
  if not finished then
    set = 'failed'
    finished = rcall('ZSCORE', base .. 'failed', id)
  end
  if not finished then
    if rcall('EXISTS', base .. id) == 0 and settled(created) then forget(id) end
    return
  end
  local state = set
  if set == 'failed' then
    local reason = rcall('HGET', base .. id, 'failedReason')
    if ${endedCancelledLua('base .. id', 'reason')} then state = 'cancelled' end
  end
  rcall('ZREM', idx .. 'open', id)
  rcall('ZREM', idx .. 'cancelreq', id)
  rcall('ZADD', idx .. 'done:' .. state, created, id)
  rcall('ZADD', idx .. 'fin:' .. q .. ':' .. set, finished, id)
end

local function streamBefore(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end

local function sync(queues)
  local walked = false
  for q in string.gmatch(queues, '[^,]+') do
    local stream = prefix .. ':' .. q .. ':events'
    local cursorKey = idx .. 'cursor:' .. q
    local cursor = rcall('GET', cursorKey)
    local oldest = rcall('XRANGE', stream, '-', '+', 'COUNT', 1)[1]
    if not cursor or (oldest and streamBefore(cursor, oldest[1])) then
      -- Never read, or trimmed past what was read: every open job is looked at once instead.
      if not walked then
        for _, id in ipairs(rcall('ZRANGE', idx .. 'open', 0, -1)) do settle(id) end
        walked = true
      end
      local newest = rcall('XREVRANGE', stream, '+', '-', 'COUNT', 1)[1]
      cursor = newest and newest[1] or '0-0'
    end
    while true do
      local entries = rcall('XRANGE', stream, '(' .. cursor, '+', 'COUNT', 500)
      for _, entry in ipairs(entries) do
        cursor = entry[1]
        local fields = entry[2]
        local event, job = fields[2], fields[4]
        if fields[3] == 'jobId' and job then
          if event == 'completed' or event == 'failed' then settle(job)
          elseif event == 'removed' then forget(job) end
        end
      end
      if #entries < 500 then break end
    end
    rcall('SET', cursorKey, cursor)
  end
  for q in string.gmatch(queues, '[^,]+') do
    for _, set in ipairs({'completed', 'failed'}) do
      local mirror = idx .. 'fin:' .. q .. ':' .. set
      local bull = prefix .. ':' .. q .. ':' .. set
      local present = false
      while not present do
        local batch = rcall('ZRANGE', mirror, 0, 99)
        if #batch == 0 then break end
        for _, id in ipairs(batch) do
          if rcall('ZSCORE', bull, id) then
            present = true
            break
          end
          forget(id)
          rcall('ZREM', mirror, id)
        end
      end
    end
  end
end
`;

/** ARGV: prefix, id, created (ms), summary, tasks, person, scope, action. */
const indexLua = `${common}${sync}
local id, created = ARGV[2], tonumber(ARGV[3])
rcall('HSET', idx .. 'summary', id, ARGV[4])
rcall('HSET', idx .. 'tasks', id, ARGV[5])
local person, scope, action = ARGV[6], ARGV[7], ARGV[8]
rcall('ZADD', idx .. 'all', created, id)
rcall('ZADD', idx .. 'open', created, id)
rcall('ZADD', idx .. 'person:' .. person, created, id)
rcall('ZADD', idx .. 'action:' .. action, created, id)
if scope ~= '' then
  rcall('ZADD', idx .. 'scope:' .. scope, created, id)
  rcall('SADD', idx .. 'scopes', scope)
end
rcall('HSET', idx .. 'meta', id, person .. '|' .. scope .. '|' .. action)
-- A job indexed after the fact (queued before this version) may have ended long ago.
settle(id)
return 1
`;

/**
 * ARGV: prefix, queues, offset, limit, state, person, action, own person ('' = none),
 * mode ('all' | 'some'), then the visible scopes (mode 'some').
 */
const listLua = `${common}${sync}
sync(ARGV[2])
local offset, limit = tonumber(ARGV[3]), tonumber(ARGV[4])
local state, person, action, own, mode = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local temps, sets = {}, {}
local function temp(name)
  local key = idx .. 'tmp:' .. name
  table.insert(temps, key)
  return key
end
-- Every set scores a job by its creation time: MAX keeps it (the default, SUM, would add them up).
local function store(command, destination, keys)
  local args = {destination, #keys}
  for _, key in ipairs(keys) do table.insert(args, key) end
  table.insert(args, 'AGGREGATE')
  table.insert(args, 'MAX')
  rcall(command, unpack(args))
end
local function done(total, ids)
  if #temps > 0 then rcall('DEL', unpack(temps)) end
  return {total, ids}
end
if mode == 'all' then
  table.insert(sets, idx .. 'all')
else
  local keys = {}
  if own ~= '' then table.insert(keys, idx .. 'person:' .. own) end
  for i = 10, #ARGV do table.insert(keys, idx .. 'scope:' .. ARGV[i]) end
  if #keys == 0 then return done(0, {}) end
  if #keys == 1 then
    table.insert(sets, keys[1])
  else
    local base = temp('base')
    store('ZUNIONSTORE', base, keys)
    table.insert(sets, base)
  end
end
if person ~= '' then table.insert(sets, idx .. 'person:' .. person) end
if action ~= '' then table.insert(sets, idx .. 'action:' .. action) end
if state == 'completed' or state == 'failed' then
  table.insert(sets, idx .. 'done:' .. state)
elseif state ~= '' then
  -- Open jobs are active when a worker holds them, else queued, or cancelled once a person asked.
  local active = temp('active')
  for q in string.gmatch(ARGV[2], '[^,]+') do
    for _, id in ipairs(rcall('LRANGE', prefix .. ':' .. q .. ':active', 0, -1)) do
      local created = rcall('ZSCORE', idx .. 'open', id)
      if created then rcall('ZADD', active, created, id) end
    end
  end
  if state == 'active' then
    table.insert(sets, active)
  else
    local waiting = temp('waiting')
    rcall('ZDIFFSTORE', waiting, 2, idx .. 'open', active)
    local chosen = temp('state')
    if state == 'queued' then
      rcall('ZDIFFSTORE', chosen, 2, waiting, idx .. 'cancelreq')
    else
      store('ZINTERSTORE', chosen, {waiting, idx .. 'cancelreq'})
      store('ZUNIONSTORE', chosen, {chosen, idx .. 'done:cancelled'})
    end
    table.insert(sets, chosen)
  end
end
local key = sets[1]
if #sets > 1 then
  key = temp('result')
  store('ZINTERSTORE', key, sets)
end
return done(rcall('ZCARD', key), rcall('ZREVRANGE', key, offset, offset + limit - 1))
`;

/** Fields read per job, in this order after its state. */
const readFields = [
  'timestamp',
  'processedOn',
  'finishedOn',
  'atm',
  'failedReason',
  'progress',
  'ka:result',
  'ka:report',
  'ka:cancelled',
] as const;

/**
 * ARGV: prefix, with tasks ('1' | '0'), then job ids. Per id: {} when BullMQ has no such job, else its
 * state, the fields, its cancel request, its summary ('' when not indexed) and, with tasks, its task ids.
 */
const readLua = `${common}
local withTasks = ARGV[2] == '1'
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local q = queueOf(id)
  local entry = {}
  if q then
    local base = prefix .. ':' .. q .. ':'
    local key = base .. id
    local fields = rcall('HMGET', key, ${readFields.map((field) => `'${field}'`).join(', ')})
    if fields[1] then
      local state = 'queued'
      if rcall('ZSCORE', base .. 'completed', id) then state = 'completed'
      elseif rcall('ZSCORE', base .. 'failed', id) then state = 'failed'
      elseif rcall('LPOS', base .. 'active', id) then state = 'active' end
      entry = {state}
      for j = 1, ${readFields.length} do entry[j + 1] = fields[j] or '' end
      entry[${readFields.length + 2}] = rcall('GET', prefix .. ':kitsu-actions:cancel:' .. id) or ''
      entry[${readFields.length + 3}] = rcall('HGET', idx .. 'summary', id) or ''
      if withTasks then entry[${readFields.length + 4}] = rcall('HGET', idx .. 'tasks', id) or '' end
    end
  end
  out[#out + 1] = entry
end
return out
`;

/**
 * KEYS[1]: the job's hash. ARGV: prefix, id, cancel request, keep seconds, channel. 1 when requested, 0 when
 * the job is gone, 2 when it ended meanwhile (nothing stored: a finished job has nothing to cancel).
 */
const cancelLua = `${common}
local key, id = KEYS[1], ARGV[2]
if rcall('EXISTS', key) == 0 then return 0 end
if rcall('HEXISTS', key, 'finishedOn') == 1 then return 2 end
-- NX: the first person to cancel is the one the job names.
rcall('SET', prefix .. ':kitsu-actions:cancel:' .. id, ARGV[3], 'EX', ARGV[4], 'NX')
local created = rcall('ZSCORE', idx .. 'open', id)
if created then rcall('ZADD', idx .. 'cancelreq', created, id) end
-- A click after a cancel is a new request, not a double click on the cancelled one.
local dedup = rcall('HGET', key, 'deid')
if dedup then
  local dedupKey = prefix .. ':' .. queueOf(id) .. ':de:' .. dedup
  if rcall('GET', dedupKey) == id then rcall('DEL', dedupKey) end
end
rcall('PUBLISH', ARGV[5], ARGV[3])
return 1
`;

/** KEYS[1]: the job's hash. ARGV: field, value, ... Written only while the job exists. */
const recordLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;

/** ARGV: prefix, id. Drops a job the index still names after it was removed by hand. */
const forgetLua = `${common}
forget(ARGV[2])
return 1
`;

class Script {
  private readonly sha: string;
  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      // First use on this Redis (or after SCRIPT FLUSH): send the script itself once.
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

/**
 * ARGV: prefix, id. Drops a listed job BullMQ no longer holds (removed by hand), but not one whose entry
 * was written a moment ago: the enqueue writes it just before BullMQ's add, and a listing in between
 * must not lose the job.
 */
const forgetGoneLua = `${common}
local id = ARGV[2]
local q = queueOf(id)
local created = rcall('ZSCORE', idx .. 'all', id)
if q == nil or not created then return 0 end
if rcall('EXISTS', prefix .. ':' .. q .. ':' .. id) == 1 or not settled(created) then return 0 end
forget(id)
return 1
`;

const scripts = {
  index: new Script(indexLua),
  list: new Script(listLua),
  read: new Script(readLua),
  cancel: new Script(cancelLua),
  record: new Script(recordLua),
  forget: new Script(forgetLua),
  forgetGone: new Script(forgetGoneLua),
};

/** BullMQ's key of a job's hash (`<prefix>:<queue>:<id>`; ids carry their queue). */
export function bullJobKey(prefix: string, queue: string, jobId: string): string {
  return `${prefix}:${queue}:${jobId}`;
}

function indexBase(prefix: string): string {
  return `${prefix}:kitsu-actions:idx`;
}

/** A scope: the productions of a job, sorted and comma-joined ('' for none). */
export function scopeOf(projectIds: readonly string[]): string {
  return [...new Set(projectIds)].sort().join(',');
}

export interface IndexEntry {
  id: string;
  /** Creation time (ms), the same BullMQ is given as the job's timestamp. */
  createdAt: number;
  summary: string;
  taskIds: readonly string[];
  personId: string;
  scope: string;
  actionId: string;
}

/** Indexes a job; sent just before BullMQ's add, on the same connection (one round trip for both). */
export async function indexJob(redis: Redis, prefix: string, entry: IndexEntry): Promise<void> {
  await scripts.index.run(
    redis,
    [indexBase(prefix)],
    [
      prefix,
      entry.id,
      entry.createdAt,
      entry.summary,
      entry.taskIds.join(','),
      entry.personId,
      entry.scope,
      entry.actionId,
    ],
  );
}

export interface IndexQuery {
  offset: number;
  limit: number;
  state?: JobState | undefined;
  personId?: string | undefined;
  actionId?: string | undefined;
  /** Only the jobs of this person and of these scopes; absent: every job. */
  visible?: { personId?: string | undefined; scopes: readonly string[] } | undefined;
}

export async function queryIndex(
  redis: Redis,
  prefix: string,
  queues: readonly string[],
  query: IndexQuery,
): Promise<{ total: number; ids: string[] }> {
  const answer = (await scripts.list.run(
    redis,
    [indexBase(prefix)],
    [
      prefix,
      queues.join(','),
      query.offset,
      query.limit,
      query.state ?? '',
      query.personId ?? '',
      query.actionId ?? '',
      query.visible?.personId ?? '',
      query.visible === undefined ? 'all' : 'some',
      ...(query.visible?.scopes ?? []),
    ],
  )) as [number, string[]];
  return { total: answer[0], ids: answer[1] };
}

/** What the read script returns of one job. */
export interface IndexedJob {
  id: string;
  state: 'queued' | 'active' | 'completed' | 'failed';
  fields: Record<(typeof readFields)[number], string>;
  cancel: string;
  /** '' when the job was queued without an index entry (before this version, or a failed write). */
  summary: string;
  /** With `withTasks`: the comma-joined ids. */
  tasks?: string | undefined;
}

export async function readIndexed(
  redis: Redis,
  prefix: string,
  ids: readonly string[],
  withTasks: boolean,
): Promise<Array<IndexedJob | undefined>> {
  if (ids.length === 0) return [];
  const answer = (await scripts.read.run(
    redis,
    [indexBase(prefix)],
    [prefix, withTasks ? '1' : '0', ...ids],
  )) as string[][];
  return ids.map((id, index) => {
    const [state, ...rest] = answer[index] ?? [];
    if (state === undefined) return undefined;
    const fields = Object.fromEntries(readFields.map((name, at) => [name, rest[at] ?? ''])) as Record<
      (typeof readFields)[number],
      string
    >;
    const n = readFields.length;
    return {
      id,
      state: state as IndexedJob['state'],
      fields,
      cancel: rest[n] ?? '',
      summary: rest[n + 1] ?? '',
      ...(withTasks ? { tasks: rest[n + 2] ?? '' } : {}),
    };
  });
}

export async function cancelIndexed(
  redis: Redis,
  prefix: string,
  jobKey: string,
  options: { id: string; request: string; keepSeconds: number; channel: string },
): Promise<'requested' | 'gone' | 'finished'> {
  const answer = await scripts.cancel.run(
    redis,
    [jobKey],
    [prefix, options.id, options.request, options.keepSeconds, options.channel],
  );
  return answer === 1 ? 'requested' : answer === 2 ? 'finished' : 'gone';
}

/** Drops a job from the index (it was removed outside BullMQ's retention, e.g. by hand). */
export async function forgetIndexed(redis: Redis, prefix: string, id: string): Promise<void> {
  await scripts.forget.run(redis, [indexBase(prefix)], [prefix, id]);
}

/**
 * Drops a job the index lists but BullMQ no longer holds, once its entry is older than an enqueue's
 * window; true when it was dropped.
 */
export async function forgetIfGone(redis: Redis, prefix: string, id: string): Promise<boolean> {
  return (await scripts.forgetGone.run(redis, [indexBase(prefix)], [prefix, id])) === 1;
}

/** Writes `ka:` fields of a job (the worker's result and report); false when the job is gone. */
export async function recordJobFields(
  redis: Redis,
  jobKey: string,
  fields: Record<string, string>,
): Promise<boolean> {
  const args = Object.entries(fields).flatMap(([name, value]) => [`ka:${name}`, value]);
  if (args.length === 0) return true;
  return (await scripts.record.run(redis, [jobKey], args)) === 1;
}

/** The scopes (production sets) that have jobs. */
export async function indexedScopes(redis: Redis, prefix: string): Promise<string[]> {
  return redis.smembers(`${indexBase(prefix)}:scopes`);
}
