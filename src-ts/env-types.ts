// Types of the host environment, written so the public declarations compile in a consumer without
// @types/node (and with skipLibCheck: false): each is the environment's own type when it has one.

/** The environment's `AbortSignal` (lib.dom or @types/node); without either, the part of it a handler uses. */
export type AbortSignalLike = typeof globalThis extends { AbortSignal: { prototype: infer S } }
  ? S
  : {
      readonly aborted: boolean
      readonly reason: unknown
      addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void
      removeEventListener(type: 'abort', listener: () => void): void
    }
