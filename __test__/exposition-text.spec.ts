// The Prometheus text exposition (0.0.4), compared as exact text.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DistributedRuntime, Namespace } from '../dist/cjs/index.js'

let rt: DistributedRuntime
let ns: Namespace

beforeEach(async () => {
  rt = await DistributedRuntime.create({ systemEnabled: false })
  ns = rt.namespace('ns')
})

afterEach(async () => {
  await rt.shutdown()
})

/** The block of one family (HELP, TYPE and its samples) cut out of a rendered text. */
function block(text: string, name: string): string {
  const start = text.indexOf(`# HELP ${name} `)
  if (start < 0) return ''
  const next = text.indexOf('# HELP ', start + 1)
  return text.slice(start, next < 0 ? undefined : next)
}

describe('whole-text layout', () => {
  it('renders HELP, TYPE and samples per family, families sorted by name', async () => {
    const zeta = ns.metrics.createGauge('zeta', 'Last family')
    const alpha = ns.metrics.createIntCounter('alpha_total', 'First family')
    const mid = ns.metrics.createHistogram('mid_seconds', 'Middle family', { buckets: [0.1, 1] })
    const beta = ns.metrics.createIntGaugeVec('beta', 'Second family', ['worker_id', 'model'] as const)
    zeta.set(1.5)
    alpha.incBy(3)
    mid.observe(0.05)
    mid.observe(0.5)
    mid.observe(2)
    beta.set(5, { worker_id: 'w1', model: 'llama-3' })
    beta.set(7, { worker_id: 'w2', model: 'llama-3' })
    expect(await ns.prometheusMetricsFmt()).toBe(
      [
        '# HELP dynamo_component_alpha_total First family',
        '# TYPE dynamo_component_alpha_total counter',
        'dynamo_component_alpha_total{dynamo_namespace="ns"} 3',
        '# HELP dynamo_component_beta Second family',
        '# TYPE dynamo_component_beta gauge',
        'dynamo_component_beta{dynamo_namespace="ns",model="llama-3",worker_id="w1"} 5',
        'dynamo_component_beta{dynamo_namespace="ns",model="llama-3",worker_id="w2"} 7',
        '# HELP dynamo_component_mid_seconds Middle family',
        '# TYPE dynamo_component_mid_seconds histogram',
        'dynamo_component_mid_seconds_bucket{dynamo_namespace="ns",le="0.1"} 1',
        'dynamo_component_mid_seconds_bucket{dynamo_namespace="ns",le="1"} 2',
        'dynamo_component_mid_seconds_bucket{dynamo_namespace="ns",le="+Inf"} 3',
        'dynamo_component_mid_seconds_sum{dynamo_namespace="ns"} 2.55',
        'dynamo_component_mid_seconds_count{dynamo_namespace="ns"} 3',
        '# HELP dynamo_component_zeta Last family',
        '# TYPE dynamo_component_zeta gauge',
        'dynamo_component_zeta{dynamo_namespace="ns"} 1.5',
        '',
      ].join('\n'),
    )
  })

  it('TYPE is counter for Counter/IntCounter, gauge for Gauge/IntGauge, histogram for Histogram (Vec too)', async () => {
    ns.metrics.createCounter('t_counter', 'h')
    ns.metrics.createIntCounter('t_intcounter', 'h')
    ns.metrics.createGauge('t_gauge', 'h')
    ns.metrics.createIntGauge('t_intgauge', 'h')
    ns.metrics.createHistogram('t_histogram', 'h', { buckets: [1] })
    ns.metrics.createCounterVec('t_vcounter', 'h', ['l']).inc({ l: 'x' })
    ns.metrics.createIntCounterVec('t_vintcounter', 'h', ['l']).inc({ l: 'x' })
    ns.metrics.createGaugeVec('t_vgauge', 'h', ['l']).set(1, { l: 'x' })
    ns.metrics.createIntGaugeVec('t_vintgauge', 'h', ['l']).set(1, { l: 'x' })
    ns.metrics.createHistogramVec('t_vhistogram', 'h', ['l'], { buckets: [1] }).observe(1, { l: 'x' })
    const types = (await ns.prometheusMetricsFmt())
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
    expect(types).toEqual([
      '# TYPE dynamo_component_t_counter counter',
      '# TYPE dynamo_component_t_gauge gauge',
      '# TYPE dynamo_component_t_histogram histogram',
      '# TYPE dynamo_component_t_intcounter counter',
      '# TYPE dynamo_component_t_intgauge gauge',
      '# TYPE dynamo_component_t_vcounter counter',
      '# TYPE dynamo_component_t_vgauge gauge',
      '# TYPE dynamo_component_t_vhistogram histogram',
      '# TYPE dynamo_component_t_vintcounter counter',
      '# TYPE dynamo_component_t_vintgauge gauge',
    ])
  })

  it('a level with no metrics renders the empty string', async () => {
    expect(await rt.namespace('empty').prometheusMetricsFmt()).toBe('')
  })

  it('runtime-level metrics have no labels and no braces; histograms carry only le', async () => {
    const c = rt.metrics.createCounter('plain_total', 'Plain counter')
    const h = rt.metrics.createHistogram('plain_seconds', 'Plain histogram', { buckets: [0.5] })
    c.incBy(2)
    h.observe(0.25)
    const text = await rt.prometheusMetricsFmt()
    expect(block(text, 'dynamo_component_plain_total')).toBe(
      '# HELP dynamo_component_plain_total Plain counter\n' +
        '# TYPE dynamo_component_plain_total counter\n' +
        'dynamo_component_plain_total 2\n',
    )
    expect(block(text, 'dynamo_component_plain_seconds')).toBe(
      '# HELP dynamo_component_plain_seconds Plain histogram\n' +
        '# TYPE dynamo_component_plain_seconds histogram\n' +
        'dynamo_component_plain_seconds_bucket{le="0.5"} 1\n' +
        'dynamo_component_plain_seconds_bucket{le="+Inf"} 1\n' +
        'dynamo_component_plain_seconds_sum 0.25\n' +
        'dynamo_component_plain_seconds_count 1\n',
    )
  })
})

describe('labels', () => {
  it('const, auto and variable labels are merged and sorted alphabetically', async () => {
    const v = ns.metrics.createGaugeVec('sorted', 'Sorted', ['m', 'b'] as const, { z: 'zv', a: 'av' })
    v.set(1, { m: 'mv', b: 'bv' })
    expect(block(await ns.prometheusMetricsFmt(), 'dynamo_component_sorted')).toBe(
      '# HELP dynamo_component_sorted Sorted\n' +
        '# TYPE dynamo_component_sorted gauge\n' +
        'dynamo_component_sorted{a="av",b="bv",dynamo_namespace="ns",m="mv",z="zv"} 1\n',
    )
  })

  it('le comes last on histogram bucket lines even when other labels sort after it', async () => {
    const v = ns.metrics.createHistogramVec('le_last', 'Le last', ['zone'] as const, {
      buckets: [0.5],
      constLabels: { model: 'x', a: 'y' },
    })
    v.observe(0.1, { zone: 'z1' })
    expect(block(await ns.prometheusMetricsFmt(), 'dynamo_component_le_last')).toBe(
      '# HELP dynamo_component_le_last Le last\n' +
        '# TYPE dynamo_component_le_last histogram\n' +
        'dynamo_component_le_last_bucket{a="y",dynamo_namespace="ns",model="x",zone="z1",le="0.5"} 1\n' +
        'dynamo_component_le_last_bucket{a="y",dynamo_namespace="ns",model="x",zone="z1",le="+Inf"} 1\n' +
        'dynamo_component_le_last_sum{a="y",dynamo_namespace="ns",model="x",zone="z1"} 0.1\n' +
        'dynamo_component_le_last_count{a="y",dynamo_namespace="ns",model="x",zone="z1"} 1\n',
    )
  })

  it('escapes backslash, double quote and newline in const label values', async () => {
    ns.metrics.createGauge('esc_const', 'Escape', { path: 'C:\\dir "q"\nnext' }).set(1)
    expect(await ns.prometheusMetricsFmt()).toContain(
      'dynamo_component_esc_const{dynamo_namespace="ns",path="C:\\\\dir \\"q\\"\\nnext"} 1\n',
    )
  })

  it('escapes backslash, double quote and newline in variable label values', async () => {
    const v = ns.metrics.createCounterVec('esc_var_total', 'Escape', ['v'] as const)
    v.inc({ v: 'a\\b"c\nd' })
    v.inc({ v: 'plain' })
    const text = await ns.prometheusMetricsFmt()
    expect(text).toContain('dynamo_component_esc_var_total{dynamo_namespace="ns",v="a\\\\b\\"c\\nd"} 1\n')
    expect(text).toContain('dynamo_component_esc_var_total{dynamo_namespace="ns",v="plain"} 1\n')
  })

  it('label values keep other characters (unicode, braces, commas, equals) verbatim', async () => {
    const v = ns.metrics.createGaugeVec('verbatim', 'Verbatim', ['v'] as const)
    v.set(2, { v: 'é✓ {a=b}, c' })
    expect(await ns.prometheusMetricsFmt()).toContain('dynamo_component_verbatim{dynamo_namespace="ns",v="é✓ {a=b}, c"} 2\n')
  })
})

describe('HELP text', () => {
  it('escapes backslash and newline but keeps double quotes', async () => {
    ns.metrics.createGauge('help_esc', 'Line one\nback\\slash "quoted"').set(1)
    expect(await ns.prometheusMetricsFmt()).toContain('# HELP dynamo_component_help_esc Line one\\nback\\\\slash "quoted"\n')
  })
})

describe('sample values', () => {
  const cases: Array<[string, number, string]> = [
    ['a small integer', 5, '5'],
    ['zero', 0, '0'],
    ['negative zero', -0, '0'],
    ['a negative integer', -3, '-3'],
    ['1e15', 1e15, '1000000000000000'],
    ['1e16', 1e16, '10000000000000000'],
    ['1e21 (no exponent)', 1e21, '1000000000000000000000'],
    ['-1e21', -1e21, '-1000000000000000000000'],
    ['2^70 (exact digits)', 2 ** 70, '1180591620717411303424'],
    ['0.5', 0.5, '0.5'],
    ['123.456', 123.456, '123.456'],
    ['0.1 + 0.2 (shortest round-trip)', 0.1 + 0.2, '0.30000000000000004'],
    ['-2.75', -2.75, '-2.75'],
    ['+Inf', Infinity, '+Inf'],
    ['-Inf', -Infinity, '-Inf'],
    ['NaN', NaN, 'NaN'],
  ]

  it.each(cases)('%s prints as expected', async (_label, value, want) => {
    ns.metrics.createGauge('v', 'Value').set(value)
    expect(await ns.prometheusMetricsFmt()).toBe(
      `# HELP dynamo_component_v Value\n# TYPE dynamo_component_v gauge\ndynamo_component_v{dynamo_namespace="ns"} ${want}\n`,
    )
  })

  it('tiny fractions print as the shortest text that parses back to the value', async () => {
    const g = ns.metrics.createGauge('tiny', 'Tiny')
    for (const v of [1e-7, 1.5e-10, 2.2250738585072014e-308, 123456789.123]) {
      g.set(v)
      const out = await ns.prometheusMetricsFmt()
      const m = /^dynamo_component_tiny\{dynamo_namespace="ns"\} (\S+)$/m.exec(out)
      expect(m).not.toBeNull()
      expect(Number.parseFloat(m![1])).toBe(v)
      expect(m![1]).not.toContain('+')
    }
  })

  it('a counter incremented past 1e21 still prints plain digits', async () => {
    const c = ns.metrics.createCounter('big_total', 'Big')
    c.incBy(1e21)
    c.incBy(1e21)
    expect(await ns.prometheusMetricsFmt()).toContain('dynamo_component_big_total{dynamo_namespace="ns"} 2000000000000000000000\n')
  })
})

describe('histograms', () => {
  it('default buckets: cumulative _bucket lines from le="0.005" to le="+Inf", then _sum and _count', async () => {
    const h = ns.metrics.createHistogram('req_seconds', 'Request time')
    for (const v of [0.005, 0.25, 0.25, 7, 100]) h.observe(v)
    expect(await ns.prometheusMetricsFmt()).toBe(
      [
        '# HELP dynamo_component_req_seconds Request time',
        '# TYPE dynamo_component_req_seconds histogram',
        'dynamo_component_req_seconds_bucket{dynamo_namespace="ns",le="0.005"} 1',
        'dynamo_component_req_seconds_bucket{dynamo_namespace="ns",le="0.01"} 1',
        'dynamo_component_req_seconds_bucket{dynamo_namespace="ns",le="0.025"} 1',
        'dynamo_component_req_seconds_bucket{dynamo_namespace="ns",le="0.05"} 1',
        'dynamo_component_req_seconds_bucket{dynamo_namespace="ns",le="0.1"} 1',
        'dynamo_component_req_seconds_bucket{dynamo_namespace="ns",le="0.25"} 3',
        'dynamo_component_req_seconds_bucket{dynamo_namespace="ns",le="0.5"} 3',
        'dynamo_component_req_seconds_bucket{dynamo_namespace="ns",le="1"} 3',
        'dynamo_component_req_seconds_bucket{dynamo_namespace="ns",le="2.5"} 3',
        'dynamo_component_req_seconds_bucket{dynamo_namespace="ns",le="5"} 3',
        'dynamo_component_req_seconds_bucket{dynamo_namespace="ns",le="10"} 4',
        'dynamo_component_req_seconds_bucket{dynamo_namespace="ns",le="+Inf"} 5',
        'dynamo_component_req_seconds_sum{dynamo_namespace="ns"} 107.505',
        'dynamo_component_req_seconds_count{dynamo_namespace="ns"} 5',
        '',
      ].join('\n'),
    )
  })

  it('an unobserved histogram prints zero counts and a zero sum', async () => {
    ns.metrics.createHistogram('idle_seconds', 'Idle', { buckets: [1, 2.5] })
    expect(await ns.prometheusMetricsFmt()).toBe(
      [
        '# HELP dynamo_component_idle_seconds Idle',
        '# TYPE dynamo_component_idle_seconds histogram',
        'dynamo_component_idle_seconds_bucket{dynamo_namespace="ns",le="1"} 0',
        'dynamo_component_idle_seconds_bucket{dynamo_namespace="ns",le="2.5"} 0',
        'dynamo_component_idle_seconds_bucket{dynamo_namespace="ns",le="+Inf"} 0',
        'dynamo_component_idle_seconds_sum{dynamo_namespace="ns"} 0',
        'dynamo_component_idle_seconds_count{dynamo_namespace="ns"} 0',
        '',
      ].join('\n'),
    )
  })

  it('+Inf and -Inf observations land in the +Inf and first bucket; the sum prints +Inf', async () => {
    const v = ns.metrics.createHistogramVec('inf_seconds', 'Inf', ['k'] as const, { buckets: [1] })
    v.observe(Infinity, { k: 'pos' })
    v.observe(-Infinity, { k: 'neg' })
    const text = await ns.prometheusMetricsFmt()
    expect(text).toContain(
      'dynamo_component_inf_seconds_bucket{dynamo_namespace="ns",k="pos",le="1"} 0\n' +
        'dynamo_component_inf_seconds_bucket{dynamo_namespace="ns",k="pos",le="+Inf"} 1\n' +
        'dynamo_component_inf_seconds_sum{dynamo_namespace="ns",k="pos"} +Inf\n' +
        'dynamo_component_inf_seconds_count{dynamo_namespace="ns",k="pos"} 1\n',
    )
    expect(text).toContain(
      'dynamo_component_inf_seconds_bucket{dynamo_namespace="ns",k="neg",le="1"} 1\n' +
        'dynamo_component_inf_seconds_bucket{dynamo_namespace="ns",k="neg",le="+Inf"} 1\n' +
        'dynamo_component_inf_seconds_sum{dynamo_namespace="ns",k="neg"} -Inf\n',
    )
  })

  it('bucket bounds print like sample values (integers without a decimal point)', async () => {
    ns.metrics.createHistogram('bounds', 'Bounds', { buckets: [0.001, 2, 1000, 1e21] })
    const les = [...(await ns.prometheusMetricsFmt()).matchAll(/le="([^"]*)"/g)].map((m) => m[1])
    expect(les).toEqual(['0.001', '2', '1000', '1000000000000000000000', '+Inf'])
  })
})

describe('empty Vec families', () => {
  it('are not printed until they have a series, and vanish again when their series are removed', async () => {
    const v = ns.metrics.createGaugeVec('maybe', 'Maybe', ['k'] as const)
    const h = ns.metrics.createHistogramVec('maybe_seconds', 'Maybe', ['k'] as const)
    ns.metrics.createIntGauge('always', 'Always').set(1)
    const only = '# HELP dynamo_component_always Always\n# TYPE dynamo_component_always gauge\ndynamo_component_always{dynamo_namespace="ns"} 1\n'
    expect(await ns.prometheusMetricsFmt()).toBe(only)
    v.set(3, { k: 'a' })
    h.observe(1, { k: 'a' })
    const text = await ns.prometheusMetricsFmt()
    expect(text).toContain('# HELP dynamo_component_maybe Maybe\n# TYPE dynamo_component_maybe gauge\ndynamo_component_maybe{dynamo_namespace="ns",k="a"} 3\n')
    expect(text).toContain('# TYPE dynamo_component_maybe_seconds histogram\n')
    v.remove({ k: 'a' })
    h.reset()
    expect(await ns.prometheusMetricsFmt()).toBe(only)
  })
})
