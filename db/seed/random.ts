// A small seeded PRNG (mulberry32) and the draws the seed needs. Never
// Math.random: the same seed must give the same school, byte for byte.

export interface Random {
  /** Uniform in [0, 1). */
  next(): number
  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number
  /** Uniform in [min, max). */
  uniform(min: number, max: number): number
  chance(probability: number): boolean
  /** Normal deviate (Box–Muller). */
  normal(mean: number, stddev: number): number
  pick<T>(items: readonly T[]): T
  /** `count` distinct indices of [0, n), in draw order (partial Fisher–Yates). */
  sample(n: number, count: number): number[]
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** FNV-1a: turns a stream label into 32 bits, so each phase draws from its own stream. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * A generator for one phase of the seed. Separate streams per phase keep a
 * change in one phase (say, material progress) from reshuffling another.
 */
export function createRandom(seed: number, stream: string): Random {
  const next = mulberry32((Math.imul(seed >>> 0, 0x9e3779b1) ^ hashLabel(stream)) >>> 0)
  let spare: number | null = null
  const random: Random = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    uniform: (min, max) => min + next() * (max - min),
    chance: (probability) => next() < probability,
    normal(mean, stddev) {
      if (spare !== null) {
        const z = spare
        spare = null
        return mean + stddev * z
      }
      const u = 1 - next()
      const v = next()
      const r = Math.sqrt(-2 * Math.log(u))
      spare = r * Math.sin(2 * Math.PI * v)
      return mean + stddev * r * Math.cos(2 * Math.PI * v)
    },
    pick: (items) => items[Math.floor(next() * items.length)],
    sample(n, count) {
      const pool = Array.from({ length: n }, (_, i) => i)
      const k = Math.min(count, n)
      for (let i = 0; i < k; i++) {
        const j = i + Math.floor(next() * (n - i))
        const swap = pool[i]
        pool[i] = pool[j]
        pool[j] = swap
      }
      return pool.slice(0, k)
    },
  }
  return random
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max)
}
