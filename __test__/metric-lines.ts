// Helpers of the metric specs: the levels, their automatic labels, and exposition lines as expected.
import type { Component, DistributedRuntime, Endpoint, Namespace } from '../dist/cjs/index.js'

export type Level = DistributedRuntime | Namespace | Component | Endpoint
export type LevelName = 'runtime' | 'namespace' | 'component' | 'endpoint'

export const DEFAULTS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** The automatic labels each level adds, as a labels object. */
export const AUTO: Record<LevelName, Record<string, string>> = {
  runtime: {},
  namespace: { dynamo_namespace: 'ns' },
  component: { dynamo_namespace: 'ns', dynamo_component: 'comp' },
  endpoint: { dynamo_namespace: 'ns', dynamo_component: 'comp', dynamo_endpoint: 'ep' },
}

export function levelOf(rt: DistributedRuntime, which: LevelName): Level {
  switch (which) {
    case 'runtime':
      return rt
    case 'namespace':
      return rt.namespace('ns')
    case 'component':
      return rt.namespace('ns').component('comp')
    case 'endpoint':
      return rt.namespace('ns').component('comp').endpoint('ep')
  }
}

/** One exposition line; labels sorted by name with `le` last (as the format requires). */
export function line(name: string, labels: Record<string, string>, value: string, le?: string): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`)
  if (le !== undefined) parts.push(`le="${le}"`)
  return parts.length === 0 ? `${name} ${value}\n` : `${name}{${parts.join(',')}} ${value}\n`
}

/** The sample lines of one family in a rendered text (no HELP/TYPE). */
export function samples(text: string, family: string): string[] {
  const names = new Set([family, `${family}_bucket`, `${family}_sum`, `${family}_count`])
  return text.split('\n').filter((l) => !l.startsWith('#') && names.has(/^[^ {]+/.exec(l)?.[0] ?? ''))
}
