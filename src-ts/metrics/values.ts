import { show } from '../binding/args'
import { InvalidValueError } from '../binding/errors'

/**
 * The value rules of every metric method, and the errors that name the argument and the call
 * expected. The checks themselves are inlined in the methods (one `typeof` folded into the range
 * test each); only the cold path that builds the error lives here.
 */

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null
}

/**
 * `rule` when `v` is a number, else why `v` is not one: a labels object where the value belongs
 * (`set(labels, 1)`, prom-client's order) says that labels go last; anything else that only
 * numbers are values (a string is never parsed: `'5'` would otherwise be concatenated).
 */
function why(method: string, v: unknown, rule: string, labelsLast: boolean): string {
  if (typeof v === 'number') return rule
  if (labelsLast && isObject(v) && !Array.isArray(v)) {
    return `labels go last: call ${method}(value, labels), e.g. ${method}(1, { ... })`
  }
  return `the value must be a number, got ${typeof v === 'object' ? show(v) : `a ${typeof v}`}`
}

/** @internal */
export function invalidValue(metric: string, method: string, v: unknown, rule: string, labelsLast = false): InvalidValueError {
  return new InvalidValueError(
    'ERR_DYNAMO_INVALID_VALUE',
    `${method}(${show(v)}) on metric '${metric}': ${why(method, v, rule, labelsLast)}`,
  )
}

/** @internal A counter increment: a number >= 0. */
export const INCREMENT = 'a counter increment must be a number >= 0 (not negative, not NaN)'
/** @internal A gauge amount: any number but NaN, which would stay in the gauge for good. */
export const AMOUNT = 'a gauge amount must be a number (not NaN)'
/** @internal Int metrics. */
export const INTEGER = 'Int metrics take integers only'
/** @internal A gauge value (NaN allowed: Prometheus renders it). */
export const NUMBER = 'a gauge value must be a number'
/** @internal */
export const OBSERVATION = 'cannot observe NaN'
