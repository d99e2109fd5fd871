import type { ErrorCode } from './contracts.generated'
import { type MetricsError, typedError } from './errors'

/**
 * Type checks of public arguments, at the API boundary: what a JS value must be before it may
 * cross into Rust (N-API would otherwise throw its own untyped conversion error) or reach code
 * that assumes its type. The rules about content (what a valid name is) stay in the core; these
 * only say "a string", "a function", "an options object". Every failure is the typed error of
 * `code`, naming the call, the argument and what was given. Not used on the hot path: metric
 * updates check their values inline (metrics/values.ts).
 */

/** Matches a lone surrogate only: with the `u` flag a paired one is one code point. */
const LONE_SURROGATE = /\p{Surrogate}/u

/** `String.prototype.isWellFormed` (Node 20+; V8 answers a one-byte string without a scan), else the regex. */
const isWellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed

/** Whether `s` has a UTF-8 form (no lone surrogate). */
export function wellFormed(s: string): boolean {
  return isWellFormed !== undefined ? isWellFormed.call(s) : !LONE_SURROGATE.test(s)
}

/** The longest delay a Node timer takes (ms): the bound of every timeout argument. */
export const MAX_TIMER_MS = 0x7fff_ffff

/** Longest rendering of a given value in a message. */
const SHOWN = 60

/** A given value, readably: strings quoted (and cut), objects by kind, never their `toString`. */
export function show(v: unknown): string {
  switch (typeof v) {
    case 'string': {
      const s = JSON.stringify(v.length > SHOWN ? v.slice(0, SHOWN) : v)
      return v.length > SHOWN ? `${s.slice(0, -1)}..." (${v.length} chars)` : s
    }
    case 'bigint':
      return `${v}n`
    case 'symbol':
      return v.toString()
    case 'function':
      return 'a function'
    case 'object':
      return v === null ? 'null' : Array.isArray(v) ? 'an array' : 'an object'
    default:
      return String(v)
  }
}

/** The error of argument `arg` of `where` (e.g. `createGauge`), which broke `rule`. */
export function argError(code: ErrorCode, where: string, arg: string, v: unknown, rule: string): MetricsError {
  return typedError(code, `${where}: ${arg} must be ${rule}; got ${show(v)}`)
}

/**
 * `v` as a string. Unless `sanitized` (names the core rewrites anyway), it must be well-formed
 * UTF-16: a lone surrogate has no UTF-8 form, so the text rendered could not read back as given.
 */
export function stringArg(v: unknown, code: ErrorCode, where: string, arg: string, sanitized = false): string {
  if (typeof v !== 'string') throw argError(code, where, arg, v, 'a string')
  if (!sanitized && !wellFormed(v)) throw argError(code, where, arg, v, 'well-formed Unicode (no lone surrogate)')
  return v
}

/** `v` as an array of strings (each well-formed). */
export function stringsArg(v: unknown, code: ErrorCode, where: string, arg: string): string[] {
  if (!Array.isArray(v)) throw argError(code, where, arg, v, 'an array of strings')
  const out: string[] = []
  for (let i = 0; i < v.length; i++) out.push(stringArg(v[i], code, where, `${arg}[${i}]`))
  return out
}

/** `v` as a function. */
export function functionArg<F extends (...args: never[]) => unknown>(v: unknown, where: string, arg: string): F {
  if (typeof v !== 'function') throw argError('ERR_DYNAMO_INVALID_ARGUMENT', where, arg, v, 'a function')
  return v as F
}

/** An options argument: undefined (no options) or a plain object (not null, not an array). */
export function optionsArg<T extends object>(v: unknown, where: string, arg = 'options', code: ErrorCode = 'ERR_DYNAMO_CONFIG'): Partial<T> {
  if (v === undefined) return {}
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw argError(code, where, arg, v, 'an object')
  return v as Partial<T>
}

/** An optional option that must be a boolean. */
export function booleanOption(v: unknown, where: string, arg: string): boolean | undefined {
  if (v !== undefined && typeof v !== 'boolean') throw argError('ERR_DYNAMO_CONFIG', where, arg, v, 'true or false')
  return v as boolean | undefined
}

/** An optional option that must be an integer from `min` to `max`. */
export function integerOption(v: unknown, where: string, arg: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw argError('ERR_DYNAMO_CONFIG', where, arg, v, `an integer from ${min} to ${max}`)
  }
  return v
}

/** An optional option that must be a number (the core checks its range). */
export function numberOption(v: unknown, where: string, arg: string): number | undefined {
  if (v !== undefined && typeof v !== 'number') throw argError('ERR_DYNAMO_CONFIG', where, arg, v, 'a number')
  return v as number | undefined
}

/** An optional option that must be a string (well-formed). */
export function stringOption(v: unknown, where: string, arg: string): string | undefined {
  return v === undefined ? undefined : stringArg(v, 'ERR_DYNAMO_CONFIG', where, arg)
}

/** An optional option that must be a function. */
export function functionOption<F extends (...args: never[]) => unknown>(v: unknown, where: string, arg: string): F | undefined {
  if (v !== undefined && typeof v !== 'function') throw argError('ERR_DYNAMO_CONFIG', where, arg, v, 'a function')
  return v as F | undefined
}
