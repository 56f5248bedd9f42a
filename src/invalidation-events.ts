// Invalidations as events (node:diagnostics_channel): the one channel on which
// every tag-version bump is observed (metrics, the dashboard's recent
// invalidations, tests), so that no observer wraps the delivery code.
import diagnosticsChannel from 'node:diagnostics_channel'

export interface InvalidationEvent {
  /**
   * The publisher (an app's `app.invalidation`): the channel is per process and
   * tests build several apps in one, so each subscriber keeps its own app's events.
   */
  source: object
  /** null: every tenant (a TRUNCATE). */
  tenantId: number | null
  /** Distinct tags, sorted; `*` for the whole tenant. */
  tags: readonly string[]
  reason: string
  /** False when the change answered with X-Invalidation: pending (delivered later by a relay). */
  delivered: boolean
}

export const INVALIDATION_CHANNEL = 'report-service.invalidation'
const channel = diagnosticsChannel.channel(INVALIDATION_CHANNEL)

export function publishInvalidation(event: InvalidationEvent): void {
  if (channel.hasSubscribers) channel.publish(event)
}

/** Calls `listener` for every invalidation `source` publishes; returns its removal. */
export function onInvalidation(source: object, listener: (event: InvalidationEvent) => void): () => void {
  const handler = (message: unknown): void => {
    const event = message as InvalidationEvent
    if (event.source === source) listener(event)
  }
  diagnosticsChannel.subscribe(INVALIDATION_CHANNEL, handler)
  return () => diagnosticsChannel.unsubscribe(INVALIDATION_CHANNEL, handler)
}
