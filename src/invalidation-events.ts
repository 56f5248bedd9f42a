// Invalidations as events (node:diagnostics_channel), so that observers (the
// dashboard's recent invalidations) need not wrap the delivery code. Whoever
// advances tag versions publishes one message per bump.
import diagnosticsChannel from 'node:diagnostics_channel'

export interface InvalidationEvent {
  tenantId: number
  tags: readonly string[]
  reason: string
  delivered: boolean
}

export const INVALIDATION_CHANNEL = 'report-service.invalidation'
const channel = diagnosticsChannel.channel(INVALIDATION_CHANNEL)

export function publishInvalidation(event: InvalidationEvent): void {
  if (channel.hasSubscribers) channel.publish(event)
}

/** Calls `listener` for every invalidation published in this process; returns its removal. */
export function onInvalidation(listener: (event: InvalidationEvent) => void): () => void {
  const handler = (message: unknown) => listener(message as InvalidationEvent)
  diagnosticsChannel.subscribe(INVALIDATION_CHANNEL, handler)
  return () => diagnosticsChannel.unsubscribe(INVALIDATION_CHANNEL, handler)
}
