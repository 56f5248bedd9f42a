// Hit-rate buckets in Redis: one hash per tenant and bucket,
// `{prefix}hr:{tenant}:{width}:{start}`, fields `{kind}|{answer}` and `@last`.
// The `{tenant}` hash tag keeps a tenant's buckets in one cluster slot, so one
// script may add a delta to its fine and coarse bucket together. A flush is one
// pipeline per tenant (a pipeline never spans cluster slots), all sent at once;
// a read is one pipeline of HGETALLs of one tenant.
import {
  ANSWER_FIELDS,
  type AnswerField,
  type BucketCounts,
  type BucketDelta,
  COARSE_BUCKET_SECONDS,
  COARSE_KEEP_SECONDS,
  FINE_BUCKET_SECONDS,
  FINE_KEEP_SECONDS,
  type HitRateSink,
} from './hit-rate.js'
import type { RedisClient } from './redis-store.js'
import { emptyCounts } from './stats.js'

// KEYS: fine bucket, coarse bucket. ARGV: newest request (ms), fine TTL, coarse TTL (s),
// then field/increment pairs. `@last` only moves forward, whichever instance flushes last.
const ADD_SCRIPT = `
for k = 1, 2 do
  local key = KEYS[k]
  for i = 4, #ARGV, 2 do redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1]) end
  local last = tonumber(redis.call('HGET', key, '@last') or '0')
  if tonumber(ARGV[1]) > last then redis.call('HSET', key, '@last', ARGV[1]) end
  redis.call('EXPIRE', key, ARGV[k + 1])
end
return 1
`

const FIELD_SET = new Set<string>(ANSWER_FIELDS)

interface ScriptedPipeline {
  hitRateAdd(numKeys: number, ...args: (string | number)[]): unknown
}

export class RedisHitRateSink implements HitRateSink {
  readonly #client: RedisClient
  readonly #prefix: string

  constructor(client: RedisClient, prefix: string) {
    this.#client = client
    this.#prefix = prefix
    client.defineCommand('hitRateAdd', { lua: ADD_SCRIPT })
  }

  key(tenant: string, width: number, start: number): string {
    return `${this.#prefix}hr:{${tenant}}:${width}:${start}`
  }

  async add(deltas: readonly BucketDelta[]): Promise<void> {
    if (deltas.length === 0) return
    const pipelines = new Map<string, ReturnType<RedisClient['pipeline']>>()
    for (const d of deltas) {
      let pipeline = pipelines.get(d.tenant)
      if (!pipeline) {
        pipeline = this.#client.pipeline()
        pipelines.set(d.tenant, pipeline)
      }
      const args: (string | number)[] = [d.last, FINE_KEEP_SECONDS, COARSE_KEEP_SECONDS]
      for (const [kind, counts] of Object.entries(d.byKind)) {
        for (const field of ANSWER_FIELDS) if (counts[field]) args.push(`${kind}|${field}`, counts[field])
      }
      const coarse = Math.floor(d.start / COARSE_BUCKET_SECONDS) * COARSE_BUCKET_SECONDS
      ;(pipeline as unknown as ScriptedPipeline).hitRateAdd(
        2,
        this.key(d.tenant, FINE_BUCKET_SECONDS, d.start),
        this.key(d.tenant, COARSE_BUCKET_SECONDS, coarse),
        ...args,
      )
    }
    const results = await Promise.all([...pipelines.values()].map(async (p) => (await p.exec()) ?? []))
    for (const [err] of results.flat()) if (err) throw err
  }

  async read(tenant: string, width: number, starts: readonly number[]): Promise<BucketCounts[]> {
    const pipeline = this.#client.pipeline()
    for (const start of starts) pipeline.hgetall(this.key(tenant, width, start))
    const results = (await pipeline.exec()) ?? []
    return results.map(([err, value]) => {
      if (err) throw err
      return parseBucket(value as Record<string, string>)
    })
  }
}

function parseBucket(hash: Record<string, string>): BucketCounts {
  const bucket: BucketCounts = { byKind: {}, last: 0 }
  for (const [field, raw] of Object.entries(hash)) {
    if (field === '@last') {
      bucket.last = Number(raw)
      continue
    }
    const bar = field.lastIndexOf('|')
    const kind = field.slice(0, bar)
    const answer = field.slice(bar + 1)
    if (bar <= 0 || !FIELD_SET.has(answer)) continue
    bucket.byKind[kind] ??= emptyCounts()
    bucket.byKind[kind][answer as AnswerField] = Number(raw)
  }
  return bucket
}
