// Reads the shipped deploy/ files for the deploy-*.spec.ts tests.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export const ROOT = join(__dirname, '..')
export const DEPLOY = join(ROOT, 'deploy')
export const DASHBOARDS = join(DEPLOY, 'grafana', 'dashboards')

export interface Target {
  expr?: string
  refId?: string
  datasource?: { type?: string; uid?: string }
}
export interface Panel {
  id: number
  type: string
  title: string
  description?: string
  datasource?: { type?: string; uid?: string }
  targets?: Target[]
  panels?: Panel[]
}
export interface Dashboard {
  uid: string
  title: string
  schemaVersion: number
  panels: Panel[]
  templating: { list: { name: string; query: { query: string } | string; datasource?: { uid?: string } }[] }
}

export function dashboards(): { file: string; d: Dashboard }[] {
  return readdirSync(DASHBOARDS)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, d: JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as Dashboard }))
}

/** Every panel, rows' nested panels included. */
export function panels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])])
}

/** The uid of the provisioned datasource. */
export function datasourceUid(): string {
  const text = readFileSync(join(DEPLOY, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8')
  const m = /^\s+uid:\s*(\S+)\s*$/m.exec(text)
  if (m === null) throw new Error('the provisioned datasource has no uid')
  return m[1]
}

/** Every target expression of a dashboard with its template variables replaced. */
export function expressions(d: Dashboard, vars: Record<string, string>): { panel: string; expr: string }[] {
  return panels(d).flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      panel: p.title,
      expr: (t.expr ?? '').replace(/\$(__rate_interval|\w+)/g, (m, name: string) => {
        const v = vars[name]
        if (v === undefined) throw new Error(`no value for ${m} in ${p.title}`)
        return v
      }),
    })),
  )
}
