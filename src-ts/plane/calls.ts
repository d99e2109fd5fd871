import { call, fromCode } from '../binding/errors'
import type { NativeRuntime, NatsCaller, NatsReply } from '../binding/native'

interface Waiter {
  resolve(r: NatsReply): void
  reject(e: unknown): void
}

/**
 * The NATS calls of one runtime: every answer comes back through one native callback, so many
 * answers arriving together cost one wake-up of the JS thread, not one promise settlement each.
 */
export class NatsCalls {
  private readonly native: NatsCaller
  private readonly waiting = new Map<number, Waiter>()
  private nextKey = 0
  /** The native callback does not hold the event loop open; this does while a call waits. */
  private keepAlive: ReturnType<typeof setInterval> | undefined

  constructor(rt: NativeRuntime) {
    this.native = call(() => rt.natsCaller((r: NatsReply) => this.answer(r)))
  }

  private answer(r: NatsReply): void {
    const w = this.waiting.get(r.key)
    if (w === undefined) return
    this.waiting.delete(r.key)
    if (this.waiting.size === 0 && this.keepAlive !== undefined) {
      clearInterval(this.keepAlive)
      this.keepAlive = undefined
    }
    if (r.code !== null && r.code !== undefined) w.reject(fromCode(r.code, r.error ?? ''))
    else w.resolve(r)
  }

  private wait(key: number): Promise<NatsReply> {
    this.keepAlive ??= setInterval(() => {}, 1 << 30)
    return new Promise<NatsReply>((resolve, reject) => this.waiting.set(key, { resolve, reject }))
  }

  /** Sends a request; resolves with its first answer (and `key` for the rest). */
  request(subject: string, id: string, payload: Parameters<NatsCaller['request']>[3], idleMs: number, window: number): { key: number; reply: Promise<NatsReply> } {
    this.nextKey = (this.nextKey % 0xffff_fffe) + 1
    const key = this.nextKey
    const reply = this.wait(key)
    call(() => this.native.request(key, subject, id, payload, idleMs, window))
    return { key, reply }
  }

  /** The next answer of call `key`. */
  next(key: number, idleMs: number): Promise<NatsReply> {
    const reply = this.wait(key)
    call(() => this.native.next(key, idleMs))
    return reply
  }

  /** Forgets call `key` (the caller stopped reading). */
  close(key: number): void {
    this.native.close(key)
  }
}
