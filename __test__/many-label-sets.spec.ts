// Model check of the JS-side label index (tails split into maps, pruning on remove) against a
// plain Map: random add/remove/get on a 3-label GaugeVec, then the rendered text must agree.
// Narrow value ranges keep levels in their list form (up to 8 values, scanned); 9 values move a
// level to a Map; dense ranges make most levels Maps; sparse ones (a wide first label over narrow others)
// keep most series in suffixes (tails, or the level's default suffix) and split and free them often;
// wide ones push a level past the size where it becomes a hash table (with tombstones on remove).
import { describe, expect, it } from 'vitest'
import { DistributedRuntime } from '../dist/cjs/index.js'

describe('label index', () => {
  it.each([
    ['dense', 5, 3, 40],
    // Up to 8 values a level is a list (removal moves its last entry into the hole); the 9th
    // moves it to a Map.
    ['list levels', 8, 4, 8],
    ['levels just past a list', 9, 9, 9],
    ['sparse', 3000, 2, 2],
    ['two-level tails', 40, 200, 2],
    ['default suffixes', 4000, 1, 1],
    ['mostly default suffixes', 2000, 1, 3],
    // Past 4096 values a level moves from a Map to the index's own hash table.
    ['wide root (hash table)', 30000, 1, 2],
    ['wide middle level (hash table)', 2, 20000, 1],
    ['wide last level (hash table)', 1, 2, 30000],
  ])('agrees with a reference map under random add, remove and get (%s)', async (_, na, nb, nc) => {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    try {
      // Wide cases hold more than the default 10000 series.
      const v = rt.metrics.createGaugeVec('model_check', 'h', ['a', 'b', 'c'] as const, undefined, { maxSeries: 100_000 })
      const ref = new Map<string, number>()
      // mulberry32: a 31-bit LCG's low bits cycle too fast to reach every value of a wide label.
      let seed = 7
      const rnd = (n: number): number => {
        seed = (seed + 0x6d2b79f5) | 0
        let t = Math.imul(seed ^ (seed >>> 15), seed | 1)
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
        return ((t ^ (t >>> 14)) >>> 0) % n
      }
      for (let step = 0; step < 20000; step++) {
        const l = { a: `a${rnd(na)}`, b: `b${rnd(nb)}`, c: `c${rnd(nc)}` }
        const k = `${l.a}|${l.b}|${l.c}`
        const op = rnd(10)
        if (op < 6) {
          v.add(1, l)
          ref.set(k, (ref.get(k) ?? 0) + 1)
        } else if (op < 8) {
          expect(v.remove(l)).toBe(ref.has(k))
          ref.delete(k)
        } else {
          expect(v.get(l)).toBe(ref.get(k) ?? 0)
          ref.set(k, ref.get(k) ?? 0)
        }
      }
      const text = await rt.prometheusMetricsFmt()
      const lines = text.split('\n').filter((x) => x.startsWith('dynamo_component_model_check{'))
      expect(lines.length).toBe(ref.size)
      for (const line of lines) {
        const m = /a="(\w+)",b="(\w+)",c="(\w+)"} (\S+)/.exec(line)
        expect(m).not.toBeNull()
        const [, a, b, c, value] = m as RegExpExecArray
        expect(Number(value)).toBe(ref.get(`${a}|${b}|${c}`))
      }
    } finally {
      await rt.shutdown()
    }
  })

  it.each([16, 17])('creates and renders a series with %i label names (the native split keeps 16 on its stack)', async (count) => {
    const rt = await DistributedRuntime.create({ systemEnabled: false })
    try {
      const names = Array.from({ length: count }, (_, i) => `l${String(i).padStart(2, '0')}`)
      const v = rt.metrics.createGaugeVec('wide', 'h', names)
      const labels = Object.fromEntries(names.map((n, i) => [n, `v${i}`]))
      v.set(7, labels)
      expect(v.get(labels)).toBe(7)
      const line = (await rt.prometheusMetricsFmt()).split('\n').find((l) => l.startsWith('dynamo_component_wide{'))
      expect(line).toBe(`dynamo_component_wide{${names.map((n, i) => `${n}="v${i}"`).join(',')}} 7`)
    } finally {
      await rt.shutdown()
    }
  })
})
