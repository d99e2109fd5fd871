import { HandlerError, NatsError } from '../binding/errors'
import type { Responder } from './ingress'

/** What a caller hears when the endpoint shuts down without grace during its request. */
export const SHUTDOWN_MESSAGE = 'the serving endpoint shut down before the request finished'

/**
 * The in-process response stream: the ingress pushes, the client's iteration pulls. Paced like
 * the NATS stream: a handler more than `window` responses ahead of its reader waits for it.
 */
export class Channel implements Responder {
  private readonly items: string[] = []
  private state: 'open' | 'ended' | 'failed' | 'cancelled' = 'open'
  private failure: Error | undefined
  private wake: (() => void) | undefined
  private space: (() => void) | undefined

  constructor(private readonly window: number) {}

  send(text: string): void | Promise<void> {
    this.push(text)
    if (this.items.length >= this.window) return new Promise<void>((resolve) => (this.space = resolve))
  }

  private push(text: string): void {
    if (this.state !== 'open') throw new Error('the caller went away')
    this.items.push(text)
    this.notify()
  }

  /** The reader went away: a handler waiting for room goes on (and then sees its signal). */
  release(): void {
    const s = this.space
    this.space = undefined
    s?.()
  }

  end(last?: string): void {
    if (last !== undefined) this.push(last)
    if (this.state === 'open') this.state = 'ended'
    this.notify()
  }

  fail(message: string, kind: 'handler' | 'delivery' = 'handler'): void {
    if (this.state === 'open') {
      this.state = 'failed'
      // In-process nothing is lost in transit; a delivery failure is still not the handler's.
      this.failure = kind === 'delivery' ? new NatsError('ERR_DYNAMO_NATS', message) : new HandlerError('ERR_DYNAMO_HANDLER', message)
    }
    this.notify()
  }

  cancelled(reason: 'caller' | 'shutdown'): void {
    if (reason === 'shutdown') return this.fail(SHUTDOWN_MESSAGE)
    this.state = 'cancelled'
    this.notify()
  }

  private notify(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  /** The next response text, or undefined after the end. */
  async next(): Promise<string | undefined> {
    for (;;) {
      const item = this.items.shift()
      if (item !== undefined) {
        if (this.items.length < this.window) this.release()
        return item
      }
      if (this.state === 'failed') throw this.failure
      if (this.state !== 'open') return undefined
      await new Promise<void>((resolve) => (this.wake = resolve))
    }
  }
}
