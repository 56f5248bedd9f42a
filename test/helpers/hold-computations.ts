// Holds an app's report computations until released, and counts the cache
// store reads that came back, so a test knows when a second request for the
// same key has reached the cache (it then joins the running computation
// within the same tick). Instruments the app's own objects; no mock of a store.
import type { App } from '../../src/app.js'
import type { GetOrComputeRequest } from '../../src/cache/cache.js'

export interface HeldComputations {
  /** Computations started (and held). */
  computing: number
  /** Store reads that have returned. */
  reads: number
  release(): void
}

export function holdComputations(app: App): HeldComputations {
  const cache = app.reportCache
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  const state: HeldComputations = { computing: 0, reads: 0, release: () => release() }
  const getOrCompute = cache.getOrCompute.bind(cache)
  cache.getOrCompute = (req: GetOrComputeRequest) =>
    getOrCompute({
      ...req,
      compute: async (stamp) => {
        state.computing++
        await gate
        return req.compute(stamp)
      },
    })
  const get = cache.store.get.bind(cache.store)
  cache.store.get = async (...args) => {
    const found = await get(...args)
    state.reads++
    return found
  }
  return state
}
