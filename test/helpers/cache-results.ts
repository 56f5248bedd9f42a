// How a cache's reads were answered, tallied from its observation channel
// (src/cache/cache-events.ts), the one way the service itself counts them.
import { onCacheEvent } from '../../src/cache/cache-events.js'
import { emptyCounts, RESULT_FIELD, type ResultCounts } from '../../src/cache/stats.js'

export interface ResultTally {
  total: ResultCounts
  byKind: Record<string, ResultCounts>
}

/** Counts the answers `cache` publishes from now until the test ends. */
export function tallyResults(t: { teardown(fn: () => unknown): void }, cache: object): ResultTally {
  const tally: ResultTally = { total: emptyCounts(), byKind: {} }
  const stop = onCacheEvent(cache, (event) => {
    if (event.type !== 'result') return
    const field = RESULT_FIELD[event.result]
    tally.total[field]++
    tally.byKind[event.kind] ??= emptyCounts()
    tally.byKind[event.kind][field]++
  })
  t.teardown(stop)
  return tally
}
