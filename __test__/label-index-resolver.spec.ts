// The code the label index generates for a labels object's hit path (series/resolver.ts): one
// snapshot, so a change to it is a reviewed diff. White-box on purpose: the generator is internal.
import { expect, it } from 'vitest'
import { resolverSource } from '../src-ts/series/resolver'

it('generates one monomorphic read per label, then one lookup per level with suffixes inlined', () => {
  expect(resolverSource(['worker_id', 'model'])).toMatchInlineSnapshot(`
    "let n = 0; for (const k in l) n++;
    if (n === 2) {
      const v0 = l["worker_id"], k0 = typeof v0 === 'number' ? String(v0) : v0;
      const v1 = l["model"], k1 = typeof v1 === 'number' ? String(v1) : v1;
      const m0 = root;
      const c1 = m0.get(k0);
      if (typeof c1 === 'number') {
        if (c1 < 0) {
          if (D1[0] === k1) return ~c1;
        } else {
          const t = c1 * 2;
          if (T1[t + 0] === k1) return T1[t + 1];
        }
      } else if (c1 !== undefined) {
        const m1 = c1;
        const s = m1.get(k1);
        if (s !== undefined) return s;
      }
      return slow(l, [k0, k1]);
    }
    return slow(l, null);"
  `)
})
