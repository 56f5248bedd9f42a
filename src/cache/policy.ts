/**
 * Cache policies by kind of entry (for the report service, by report type).
 * Generic: the caller provides the kinds and their defaults.
 */

export interface CachePolicy {
  /** Seconds an entry lives in the server cache. */
  ttl: number
  /** Seconds a client may reuse a response without revalidating (Cache-Control max-age). */
  maxAge: number
  /** Seconds past ttl during which the server serves the old entry while one refresh runs. */
  staleWhileRevalidate: number
  /** Seconds past ttl during which the server serves the old entry when the origin fails. */
  staleIfError: number
}

export type PolicyOverrides = Record<string, Partial<CachePolicy>>

const FIELDS: readonly (keyof CachePolicy)[] = ['ttl', 'maxAge', 'staleWhileRevalidate', 'staleIfError']
const MAX_SECONDS = 365 * 24 * 3600

/**
 * Parses and validates a JSON policy override such as `{"analytics": {"ttl": 60}}`.
 * `kinds`, when given, are the only accepted keys: a misspelt kind would
 * otherwise be ignored silently, as a misspelt field is not.
 */
export function parsePolicyOverrides(json: string, kinds?: readonly string[]): PolicyOverrides {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    throw new Error('is not valid JSON')
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('must be a JSON object keyed by report type')
  }
  const result: PolicyOverrides = {}
  for (const [kind, value] of Object.entries(parsed)) {
    if (kinds && !kinds.includes(kind)) {
      throw new Error(`.${kind} is not a report type (expected ${kinds.join(', ')})`)
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new Error(`.${kind} must be an object`)
    }
    const entry: Partial<CachePolicy> = {}
    for (const [field, seconds] of Object.entries(value)) {
      if (!FIELDS.includes(field as keyof CachePolicy)) {
        throw new Error(`.${kind}.${field} is not a policy field (expected ${FIELDS.join(', ')})`)
      }
      if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0 || seconds > MAX_SECONDS) {
        throw new Error(`.${kind}.${field} must be a whole number of seconds between 0 and ${MAX_SECONDS}`)
      }
      entry[field as keyof CachePolicy] = seconds
    }
    result[kind] = entry
  }
  return result
}

export class PolicyTable {
  readonly #policies = new Map<string, CachePolicy>()
  readonly #fallback: CachePolicy

  /**
   * @param defaults policies by kind, plus `default` for any other kind
   * @param overrides partial policies merged over the defaults
   */
  constructor(
    defaults: Record<string, CachePolicy> & { default: CachePolicy },
    overrides: PolicyOverrides = {},
  ) {
    const kinds = new Set([...Object.keys(defaults), ...Object.keys(overrides)])
    for (const kind of kinds) {
      const base = defaults[kind] ?? { ...defaults.default, ...overrides.default }
      this.#policies.set(kind, { ...base, ...overrides[kind] })
    }
    this.#fallback = this.#policies.get('default')!
  }

  get(kind: string): CachePolicy {
    return this.#policies.get(kind) ?? this.#fallback
  }

  /** The effective server TTL by kind, for operators. */
  ttlMap(): Record<string, number> {
    const map: Record<string, number> = {}
    for (const [kind, policy] of this.#policies) map[kind] = policy.ttl
    return map
  }
}
