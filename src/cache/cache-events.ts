// What the cache did, as events on one node:diagnostics_channel: how each
// read was answered and each computation that ran. Hit-rate, Prometheus and
// the insights dashboard subscribe; nothing wraps the cache or tests its store.
// Publishing costs one object per read, and nothing when no one listens.
import diagnosticsChannel from 'node:diagnostics_channel'
import type { TenantId } from './keys.js'
import type { CacheResult } from './stats.js'

/** How one read was answered. */
export interface CacheResultEvent {
  type: 'result'
  /** The publisher (a TaggedCache): tests build several in one process; each subscriber keeps its own. */
  source: object
  tenantId: TenantId
  key: string
  kind: string
  result: CacheResult
  /** The response is a 304 (If-None-Match or If-Modified-Since matched). */
  notModified: boolean
  /** Body bytes, when the body passed through (not for a 304 the store answered without it). */
  bytes?: number
  /** A read made to fill the cache (POST /cache/warm, the CLI), not a client's: hit-rate leaves it out. */
  warming: boolean
}

/** One run of a read's computation. */
export interface CacheComputeEvent {
  type: 'compute'
  source: object
  tenantId: TenantId
  key: string
  kind: string
  seconds: number
  ok: boolean
}

export type CacheEvent = CacheResultEvent | CacheComputeEvent

export const CACHE_CHANNEL = 'report-service.cache'
const channel = diagnosticsChannel.channel(CACHE_CHANNEL)

/** Whether anyone listens (publishers skip building events otherwise). */
export function cacheEventsObserved(): boolean {
  return channel.hasSubscribers
}

export function publishCacheEvent(event: CacheEvent): void {
  channel.publish(event)
}

/** Calls `listener` for every event `source` publishes; returns its removal. */
export function onCacheEvent(source: object, listener: (event: CacheEvent) => void): () => void {
  const handler = (message: unknown): void => {
    const event = message as CacheEvent
    if (event.source === source) listener(event)
  }
  diagnosticsChannel.subscribe(CACHE_CHANNEL, handler)
  return () => diagnosticsChannel.unsubscribe(CACHE_CHANNEL, handler)
}
