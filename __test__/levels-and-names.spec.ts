// The namespace/component/endpoint tree: subtree rendering, child identity, cross-endpoint merge,
// conflicts, and the sanitizing of metric and hierarchy names.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  DistributedRuntime,
  MetricConflictError,
  MetricsError,
  DuplicateMetricError,
} from '../dist/cjs/index.js'

let rt: DistributedRuntime

beforeEach(async () => {
  rt = await DistributedRuntime.create({ systemEnabled: false })
})

afterEach(async () => {
  await rt.shutdown()
})

/** The metric names (HELP lines) in a rendered text, in order. */
function families(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('# HELP '))
    .map((l) => l.split(' ')[2])
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1
}

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (e) {
    return e
  }
  throw new Error('expected the call to throw')
}

describe('subtree rendering', () => {
  function build() {
    const ns1 = rt.namespace('ns1')
    const comp1 = ns1.component('comp1')
    const ep1 = comp1.endpoint('ep1')
    const ep2 = comp1.endpoint('ep2')
    const comp2 = ns1.component('comp2')
    const inner = ns1.namespace('inner')
    const ns2 = rt.namespace('ns2')
    rt.metrics.createGauge('rt_only', 'Runtime level').set(1)
    ns1.metrics.createGauge('ns1_only', 'Namespace level').set(2)
    comp1.metrics.createGauge('comp1_only', 'Component level').set(3)
    ep1.metrics.createGauge('ep1_only', 'Endpoint level').set(4)
    ep2.metrics.createGauge('ep2_only', 'Endpoint level').set(5)
    comp2.metrics.createGauge('comp2_only', 'Other component').set(6)
    inner.metrics.createGauge('inner_only', 'Nested namespace').set(7)
    ns2.metrics.createGauge('ns2_only', 'Other namespace').set(8)
    return { ns1, comp1, ep1, ep2, comp2, inner, ns2 }
  }

  it('an endpoint renders only its own metrics', async () => {
    const { ep1 } = build()
    expect(await ep1.prometheusMetricsFmt()).toBe(
      '# HELP dynamo_component_ep1_only Endpoint level\n' +
        '# TYPE dynamo_component_ep1_only gauge\n' +
        'dynamo_component_ep1_only{dynamo_component="comp1",dynamo_endpoint="ep1",dynamo_namespace="ns1"} 4\n',
    )
  })

  it("a component renders its own and its endpoints' metrics, not the namespace's or a sibling's", async () => {
    const { comp1 } = build()
    const text = await comp1.prometheusMetricsFmt()
    expect(families(text)).toEqual([
      'dynamo_component_comp1_only',
      'dynamo_component_ep1_only',
      'dynamo_component_ep2_only',
    ])
    expect(text).toContain('dynamo_component_comp1_only{dynamo_component="comp1",dynamo_namespace="ns1"} 3\n')
    expect(text).toContain('dynamo_component_ep2_only{dynamo_component="comp1",dynamo_endpoint="ep2",dynamo_namespace="ns1"} 5\n')
  })

  it('a namespace renders its components, endpoints and nested namespaces, but not the runtime or other namespaces', async () => {
    const { ns1, ns2 } = build()
    const text = await ns1.prometheusMetricsFmt()
    expect(families(text)).toEqual([
      'dynamo_component_comp1_only',
      'dynamo_component_comp2_only',
      'dynamo_component_ep1_only',
      'dynamo_component_ep2_only',
      'dynamo_component_inner_only',
      'dynamo_component_ns1_only',
    ])
    expect(text).toContain('dynamo_component_inner_only{dynamo_namespace="ns1_inner"} 7\n')
    expect(text).not.toContain('uptime_seconds')
    expect(families(await ns2.prometheusMetricsFmt())).toEqual(['dynamo_component_ns2_only'])
  })

  it('a nested namespace renders only its own subtree', async () => {
    const { inner } = build()
    expect(families(await inner.prometheusMetricsFmt())).toEqual(['dynamo_component_inner_only'])
  })

  it('the runtime renders everything plus uptime and callback-error metrics', async () => {
    build()
    const text = await rt.prometheusMetricsFmt()
    expect(families(text)).toEqual([
      'dynamo_component_comp1_only',
      'dynamo_component_comp2_only',
      'dynamo_component_ep1_only',
      'dynamo_component_ep2_only',
      'dynamo_component_inner_only',
      'dynamo_component_metrics_callback_errors_total',
      'dynamo_component_ns1_only',
      'dynamo_component_ns2_only',
      'dynamo_component_rt_only',
      'dynamo_component_uptime_seconds',
    ])
    expect(text).toContain('dynamo_component_rt_only 1\n')
    expect(text).toContain(
      '# HELP dynamo_component_uptime_seconds Total uptime of the DistributedRuntime in seconds\n' +
        '# TYPE dynamo_component_uptime_seconds gauge\n',
    )
    const up = /^dynamo_component_uptime_seconds (\S+)$/m.exec(text)
    expect(up).not.toBeNull()
    expect(Number.parseFloat(up![1])).toBeGreaterThanOrEqual(0)
    expect(text).toContain('# TYPE dynamo_component_metrics_callback_errors_total counter\n')
    expect(text).toContain('\ndynamo_component_metrics_callback_errors_total 0\n')
  })

  it('uptime and callback errors are present on a fresh runtime with no user metrics', async () => {
    expect(families(await rt.prometheusMetricsFmt())).toEqual([
      'dynamo_component_metrics_callback_errors_total',
      'dynamo_component_uptime_seconds',
    ])
  })
})

describe('asking twice for the same child', () => {
  it('returns the same object at every level', () => {
    const ns = rt.namespace('a')
    expect(rt.namespace('a')).toBe(ns)
    expect(ns.namespace('inner')).toBe(rt.namespace('a').namespace('inner'))
    const comp = ns.component('c')
    expect(rt.namespace('a').component('c')).toBe(comp)
    const ep = comp.endpoint('e')
    expect(rt.namespace('a').component('c').endpoint('e')).toBe(ep)
    expect(rt.namespace('b')).not.toBe(ns)
    expect(comp.endpoint('other')).not.toBe(ep)
  })

  it('shares the metrics: a metric created through one handle renders through the other', async () => {
    const g = rt.namespace('a').component('c').endpoint('e').metrics.createIntGauge('shared', 'Shared')
    g.set(11)
    expect(await rt.namespace('a').component('c').endpoint('e').prometheusMetricsFmt()).toContain(
      'dynamo_component_shared{dynamo_component="c",dynamo_endpoint="e",dynamo_namespace="a"} 11\n',
    )
    const e = thrown(() => rt.namespace('a').component('c').endpoint('e').metrics.createIntGauge('shared', 'Shared'))
    expect(e).toBeInstanceOf(DuplicateMetricError)
    expect(g.get()).toBe(11)
  })
})

describe('cross-endpoint merge', () => {
  it('the same counter on two endpoints renders as one HELP/TYPE block with both series', async () => {
    const comp = rt.namespace('ns').component('backend')
    const a = comp.endpoint('generate').metrics.createCounter('requests_total', 'Total requests')
    const b = comp.endpoint('embed').metrics.createCounter('requests_total', 'Total requests')
    a.incBy(3)
    b.incBy(5)
    const want =
      '# HELP dynamo_component_requests_total Total requests\n' +
      '# TYPE dynamo_component_requests_total counter\n' +
      'dynamo_component_requests_total{dynamo_component="backend",dynamo_endpoint="generate",dynamo_namespace="ns"} 3\n' +
      'dynamo_component_requests_total{dynamo_component="backend",dynamo_endpoint="embed",dynamo_namespace="ns"} 5\n'
    expect(await comp.prometheusMetricsFmt()).toBe(want)
    const all = await rt.prometheusMetricsFmt()
    expect(all).toContain(want)
    expect(count(all, '# HELP dynamo_component_requests_total ')).toBe(1)
    expect(count(all, '# TYPE dynamo_component_requests_total ')).toBe(1)
  })

  it('merges Vec families with the same label names across components and namespaces', async () => {
    const v1 = rt.namespace('n1').component('c1').endpoint('e').metrics.createIntGaugeVec('load', 'Load', ['worker_id'] as const)
    const v2 = rt.namespace('n2').component('c2').endpoint('e').metrics.createIntGaugeVec('load', 'Load', ['worker_id'] as const)
    v1.set(1, { worker_id: 'w1' })
    v2.set(2, { worker_id: 'w2' })
    const text = await rt.prometheusMetricsFmt()
    expect(count(text, '# HELP dynamo_component_load ')).toBe(1)
    expect(count(text, '# TYPE dynamo_component_load gauge')).toBe(1)
    expect(text).toContain(
      '# TYPE dynamo_component_load gauge\n' +
        'dynamo_component_load{dynamo_component="c1",dynamo_endpoint="e",dynamo_namespace="n1",worker_id="w1"} 1\n' +
        'dynamo_component_load{dynamo_component="c2",dynamo_endpoint="e",dynamo_namespace="n2",worker_id="w2"} 2\n',
    )
  })

  it('merges histograms whose buckets are equal (explicit defaults, a trailing +Inf)', async () => {
    const comp = rt.namespace('ns').component('c')
    const a = comp.endpoint('a').metrics.createHistogram('lat_seconds', 'Latency', { buckets: [1, 2] })
    const b = comp.endpoint('b').metrics.createHistogram('lat_seconds', 'Latency', { buckets: [1, 2, Infinity] })
    a.observe(1.5)
    b.observe(0.5)
    const text = await comp.prometheusMetricsFmt()
    expect(count(text, '# HELP dynamo_component_lat_seconds ')).toBe(1)
    expect(text).toContain('dynamo_component_lat_seconds_bucket{dynamo_component="c",dynamo_endpoint="a",dynamo_namespace="ns",le="2"} 1\n')
    expect(text).toContain('dynamo_component_lat_seconds_bucket{dynamo_component="c",dynamo_endpoint="b",dynamo_namespace="ns",le="1"} 1\n')
    const d1 = comp.endpoint('d1').metrics.createHistogram('def_seconds', 'Default')
    const d2 = comp.endpoint('d2').metrics.createHistogram('def_seconds', 'Default', {
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    })
    d1.observe(1)
    d2.observe(1)
    const t2 = await comp.prometheusMetricsFmt()
    expect(count(t2, '# TYPE dynamo_component_def_seconds histogram')).toBe(1)
    expect(count(t2, 'dynamo_component_def_seconds_count{')).toBe(2)
  })

  it('merges the same name across levels (component and its endpoint) into one block', async () => {
    const comp = rt.namespace('ns').component('c')
    comp.metrics.createGauge('depth', 'Depth').set(1)
    comp.endpoint('e').metrics.createGauge('depth', 'Depth').set(2)
    const text = await comp.prometheusMetricsFmt()
    expect(text).toBe(
      '# HELP dynamo_component_depth Depth\n' +
        '# TYPE dynamo_component_depth gauge\n' +
        'dynamo_component_depth{dynamo_component="c",dynamo_namespace="ns"} 1\n' +
        'dynamo_component_depth{dynamo_component="c",dynamo_endpoint="e",dynamo_namespace="ns"} 2\n',
    )
  })

  describe('a different shape under the same name throws MetricConflictError at creation', () => {
    async function setup() {
      const comp = rt.namespace('ns').component('c')
      const first = comp.endpoint('a')
      const g = first.metrics.createGaugeVec('shape', 'Shape help', ['worker_id'] as const)
      g.set(4, { worker_id: 'w' })
      const before = await rt.namespace('ns').prometheusMetricsFmt()
      return { comp, second: comp.endpoint('b'), before, g }
    }

    async function check(fn: () => unknown, needles: string[], ctx: Awaited<ReturnType<typeof setup>>) {
      const e = thrown(fn)
      expect(e).toBeInstanceOf(MetricConflictError)
      expect(e).toBeInstanceOf(MetricsError)
      const err = e as MetricConflictError
      expect(err.code).toBe('ERR_DYNAMO_METRIC_CONFLICT')
      expect(err.message).toContain('dynamo_component_shape')
      for (const n of needles) expect(err.message).toContain(n)
      // Nothing was registered and the existing series is untouched.
      expect(await ctx.second.prometheusMetricsFmt()).toBe('')
      expect(await rt.namespace('ns').prometheusMetricsFmt()).toBe(ctx.before)
      expect(ctx.g.get({ worker_id: 'w' })).toBe(4)
    }

    it('different type', async () => {
      const ctx = await setup()
      await check(() => ctx.second.metrics.createCounterVec('shape', 'Shape help', ['worker_id']), ['Counter'], ctx)
    })

    it('different type (histogram)', async () => {
      const ctx = await setup()
      await check(() => ctx.second.metrics.createHistogramVec('shape', 'Shape help', ['worker_id']), ['Histogram'], ctx)
    })

    it('different help', async () => {
      const ctx = await setup()
      await check(() => ctx.second.metrics.createGaugeVec('shape', 'Other help', ['worker_id']), ['Other help'], ctx)
    })

    it('different label names', async () => {
      const ctx = await setup()
      await check(() => ctx.second.metrics.createGaugeVec('shape', 'Shape help', ['model']), ['model'], ctx)
    })

    it('extra label name', async () => {
      const ctx = await setup()
      await check(() => ctx.second.metrics.createGaugeVec('shape', 'Shape help', ['worker_id', 'model']), ['model'], ctx)
    })

    it('scalar against a Vec', async () => {
      const ctx = await setup()
      await check(() => ctx.second.metrics.createGauge('shape', 'Shape help'), [], ctx)
    })

    it('different buckets', async () => {
      const comp = rt.namespace('ns').component('c')
      const h = comp.endpoint('a').metrics.createHistogram('hshape', 'H', { buckets: [1, 2] })
      h.observe(1)
      const e = thrown(() => comp.endpoint('b').metrics.createHistogram('hshape', 'H', { buckets: [1, 3] }))
      expect(e).toBeInstanceOf(MetricConflictError)
      expect(e).toBeInstanceOf(MetricsError)
      expect((e as MetricsError).code).toBe('ERR_DYNAMO_METRIC_CONFLICT')
      expect((e as MetricsError).message).toContain('dynamo_component_hshape')
      expect((e as MetricsError).message).toContain('buckets')
      const e2 = thrown(() => comp.endpoint('c').metrics.createHistogram('hshape', 'H'))
      expect(e2).toBeInstanceOf(MetricConflictError)
      expect(await comp.endpoint('b').prometheusMetricsFmt()).toBe('')
      expect(h.getCount()).toBe(1)
    })

    it('a conflict is detected between the runtime level and an endpoint too', () => {
      rt.metrics.createCounter('anywhere_total', 'Anywhere')
      const e = thrown(() => rt.namespace('x').component('y').endpoint('z').metrics.createGauge('anywhere_total', 'Anywhere'))
      expect(e).toBeInstanceOf(MetricConflictError)
    })
  })
})

describe('metric name sanitizing and prefixing', () => {
  const vectors: Array<[string, string]> = [
    ['requests_total', 'dynamo_component_requests_total'],
    ['test name', 'dynamo_component_test_name'],
    ['test metric', 'dynamo_component_test_metric'],
    ['123metric', 'dynamo_component__123metric'],
    ['test.name', 'dynamo_component_test_name'],
    ['test@name', 'dynamo_component_test_name'],
    ['test-name', 'dynamo_component_test_name'],
    ['test$name#123', 'dynamo_component_test_name_123'],
    ['test:name', 'dynamo_component_test:name'],
    ['dynamo_component_x', 'dynamo_component_x'],
    ['dynamo_component_dynamo_component_x', 'dynamo_component_dynamo_component_x'],
  ]

  it.each(vectors)('%j becomes %s (in .name and in the output)', async (raw, want) => {
    const ns = rt.namespace('ns')
    const g = ns.metrics.createGauge(raw, 'Sanitized')
    expect(g.name).toBe(want)
    g.set(1)
    expect(await ns.prometheusMetricsFmt()).toBe(`# HELP ${want} Sanitized\n# TYPE ${want} gauge\n${want}{dynamo_namespace="ns"} 1\n`)
  })

  it('the prefix is added at every level, including the runtime', () => {
    expect(rt.metrics.createGauge('a', 'h').name).toBe('dynamo_component_a')
    expect(rt.namespace('n').metrics.createGauge('b', 'h').name).toBe('dynamo_component_b')
    expect(rt.namespace('n').component('c').metrics.createGauge('c', 'h').name).toBe('dynamo_component_c')
    expect(rt.namespace('n').component('c').endpoint('e').metrics.createGauge('d', 'h').name).toBe('dynamo_component_d')
  })

  it('x and dynamo_component_x are the same metric (so the second at one level is a duplicate)', () => {
    const ns = rt.namespace('ns')
    ns.metrics.createGauge('x', 'h').set(3)
    expect(thrown(() => ns.metrics.createGauge('dynamo_component_x', 'h'))).toBeInstanceOf(DuplicateMetricError)
  })
})

describe('hierarchy names become sanitized label values', () => {
  const vectors: Array<[string, string]> = [
    ['ns', 'ns'],
    ['@@123', '_123'],
    ['__test', 'test'],
    ['test:label', 'test_label'],
    [':test', '_test'],
    ['123:test-label@domain', '_123_test_label_domain'],
    ['test____label', 'test____label'],
    ['my-ns.v1', 'my_ns_v1'],
  ]

  it.each(vectors)('namespace %j is labelled dynamo_namespace=%j', async (raw, want) => {
    const ns = rt.namespace(raw)
    const g = ns.metrics.createGauge('g', 'h')
    expect(g.constLabels).toEqual({ dynamo_namespace: want })
    expect(await ns.prometheusMetricsFmt()).toContain(`dynamo_component_g{dynamo_namespace="${want}"} 0\n`)
  })

  it.each(vectors)('component and endpoint %j are sanitized the same way', async (raw, want) => {
    const comp = rt.namespace('ns').component(raw)
    const ep = comp.endpoint(raw)
    ep.metrics.createGauge('g', 'h').set(2)
    expect(await comp.prometheusMetricsFmt()).toContain(
      `dynamo_component_g{dynamo_component="${want}",dynamo_endpoint="${want}",dynamo_namespace="ns"} 2\n`,
    )
  })
})

describe('automatic labels by level', () => {
  it('runtime none; namespace dynamo_namespace; component adds dynamo_component; endpoint adds dynamo_endpoint', async () => {
    const ns = rt.namespace('dynamo')
    const comp = ns.component('backend')
    const ep = comp.endpoint('generate')
    const r = rt.metrics.createIntGauge('lvl_rt', 'h')
    const n = ns.metrics.createIntGauge('lvl_ns', 'h')
    const c = comp.metrics.createIntGauge('lvl_comp', 'h')
    const e = ep.metrics.createIntGauge('lvl_ep', 'h')
    expect(r.constLabels).toEqual({})
    expect(n.constLabels).toEqual({ dynamo_namespace: 'dynamo' })
    expect(c.constLabels).toEqual({ dynamo_namespace: 'dynamo', dynamo_component: 'backend' })
    expect(e.constLabels).toEqual({ dynamo_namespace: 'dynamo', dynamo_component: 'backend', dynamo_endpoint: 'generate' })
    const text = await rt.prometheusMetricsFmt()
    expect(text).toContain('\ndynamo_component_lvl_rt 0\n')
    expect(text).toContain('\ndynamo_component_lvl_ns{dynamo_namespace="dynamo"} 0\n')
    expect(text).toContain('\ndynamo_component_lvl_comp{dynamo_component="backend",dynamo_namespace="dynamo"} 0\n')
    expect(text).toContain(
      '\ndynamo_component_lvl_ep{dynamo_component="backend",dynamo_endpoint="generate",dynamo_namespace="dynamo"} 0\n',
    )
  })

  it('nested namespaces are labelled dynamo_namespace="outer_inner"', async () => {
    const inner = rt.namespace('outer').namespace('inner')
    const g = inner.metrics.createGauge('nested', 'h')
    expect(g.constLabels).toEqual({ dynamo_namespace: 'outer_inner' })
    const ep = inner.component('c').endpoint('e')
    const eg = ep.metrics.createGauge('nested_ep', 'h')
    expect(eg.constLabels).toEqual({ dynamo_namespace: 'outer_inner', dynamo_component: 'c', dynamo_endpoint: 'e' })
    const deeper = inner.namespace('deep').metrics.createGauge('deeper', 'h')
    expect(deeper.constLabels).toEqual({ dynamo_namespace: 'outer_inner_deep' })
    const text = await rt.namespace('outer').prometheusMetricsFmt()
    expect(text).toContain('dynamo_component_nested{dynamo_namespace="outer_inner"} 0\n')
    expect(text).toContain('dynamo_component_nested_ep{dynamo_component="c",dynamo_endpoint="e",dynamo_namespace="outer_inner"} 0\n')
    expect(text).toContain('dynamo_component_deeper{dynamo_namespace="outer_inner_deep"} 0\n')
  })

  it('nested namespace parts are sanitized before joining', () => {
    const g = rt.namespace('a-b').namespace('__c').metrics.createGauge('j', 'h')
    expect(g.constLabels).toEqual({ dynamo_namespace: 'a_b_c' })
  })
})
