// Recently served bodies of a remote store, kept in this process and bounded
// by bytes (least recently used go first). A copy is only a candidate: the
// store confirms on every read, by its ETag, that it is still the valid
// entry's body, the way a client's If-None-Match gets a 304 without the body
// (RFC 9110 §13.1.2), so a HIT moves a few dozen bytes instead of the body.

import type { ConfirmedCopy } from './store.js'

/** `etag` is the strong validator of `body` as the store holds it; `generatedAt` lets a confirmed copy answer a HIT alone. */
export type BodyCopy = Readonly<ConfirmedCopy>

// Rough per-copy bookkeeping, so that many small copies still count.
const COPY_OVERHEAD_BYTES = 100

export class BodyCopies {
  readonly #copies = new Map<string, BodyCopy>()
  #bytes = 0

  /** `maxBytes` 0 keeps nothing. */
  constructor(readonly maxBytes: number) {}

  /** The copy of `key`, refreshed as recently used. */
  get(key: string): BodyCopy | undefined {
    const copy = this.#copies.get(key)
    if (copy) {
      this.#copies.delete(key)
      this.#copies.set(key, copy)
    }
    return copy
  }

  /** Keeps `body` (copied: the caller's buffer may be a slice of a larger one) unless it is already the copy. */
  set(key: string, entry: BodyCopy): void {
    const held = this.#copies.get(key)
    if (held?.etag === entry.etag) return
    if (held) this.delete(key)
    const bytes = entry.body.length + COPY_OVERHEAD_BYTES
    if (bytes > this.maxBytes) return
    this.#copies.set(key, { etag: entry.etag, body: Buffer.from(entry.body), generatedAt: entry.generatedAt })
    this.#bytes += bytes
    for (const [oldest, copy] of this.#copies) {
      if (this.#bytes <= this.maxBytes) break
      this.#copies.delete(oldest)
      this.#bytes -= copy.body.length + COPY_OVERHEAD_BYTES
    }
  }

  delete(key: string): void {
    const held = this.#copies.get(key)
    if (!held) return
    this.#copies.delete(key)
    this.#bytes -= held.body.length + COPY_OVERHEAD_BYTES
  }

  clear(): void {
    this.#copies.clear()
    this.#bytes = 0
  }

  /** Copies and bytes held now. */
  get size(): { copies: number; bytes: number } {
    return { copies: this.#copies.size, bytes: this.#bytes }
  }
}
