import { isIP } from 'node:net'
import { parseArgs } from 'node:util'

/** A flag error: main prints it with the usage on stderr and exits with code 2. */
export class UsageError extends Error {}

export const USAGE = `Usage:
  dynamo-metrics --component <name> --endpoint <name> [options]
      Aggregates the ForwardPassMetrics of an endpoint's workers (Dynamo's Method 1) and
      exports the llm_* metrics: served on GET /metrics, or pushed to a Pushgateway (--push).
  dynamo-metrics mock-worker [--namespace <ns>] [--component <name>] [--endpoint <name>]
      Serves an endpoint with random ForwardPassMetrics and sends a random KvHitRateEvent a second.

Options:
  --namespace <ns>          namespace (default: $DYN_NAMESPACE, else dynamo)
  --component <name>        component to watch (required)
  --endpoint <name>         endpoint whose stats carry the metrics (required)
  --model-name <name>       model served by the workers: a model="<name>" label on every series
  --poll-interval <s>       seconds between stats polls, an integer >= 1 (default 1)
  --host <ip>               address to serve on (default 0.0.0.0)
  --port <n>                port to serve on (default 9091; 0 = any free port)
  --metrics-port <n>        the same as --port
  --push                    push to a Prometheus Pushgateway instead of serving
  --push-url <url>          Pushgateway URL, e.g. http://localhost:9091 (required with --push)
  --push-interval <s>       seconds between pushes, an integer >= 1 (default 2)
  --push-job <job>          job label of the pushed group (default dynamo_metrics)
  --help                    this text

Environment: NATS_SERVER (default nats://127.0.0.1:4222), DYN_LOG (error, warn, info, debug).
`

export interface AggregateConfig {
  mode: 'aggregate'
  namespace: string
  component: string
  endpoint: string
  modelName: string | undefined
  pollIntervalS: number
  host: string
  port: number
  push: { url: string; intervalS: number; job: string } | null
}

export interface MockWorkerConfig {
  mode: 'mock-worker'
  namespace: string
  component: string
  endpoint: string
}

export type Config = AggregateConfig | MockWorkerConfig | { mode: 'help' }

function intFlag(name: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined) return dflt
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got '${raw}')`)
  }
  return Number(raw)
}

function name(flag: string, raw: string | undefined, dflt?: string): string {
  const v = raw ?? dflt
  if (v === undefined) throw new UsageError(`--${flag} is required`)
  if (v.trim() === '') throw new UsageError(`--${flag} must not be empty`)
  return v
}

export function parse(argv: string[], env: NodeJS.ProcessEnv): Config {
  const worker = argv[0] === 'mock-worker'
  const args = worker ? argv.slice(1) : argv
  const s = { type: 'string' } as const
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: worker
        ? { namespace: s, component: s, endpoint: s, help: { type: 'boolean' } }
        : {
            namespace: s,
            component: s,
            endpoint: s,
            'model-name': s,
            'poll-interval': s,
            host: s,
            port: s,
            'metrics-port': s,
            push: { type: 'boolean' },
            'push-url': s,
            'push-interval': s,
            'push-job': s,
            help: { type: 'boolean' },
          },
    }).values as Record<string, string | boolean | undefined>
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  if (values.help === true) return { mode: 'help' }
  const str = (k: string): string | undefined => values[k] as string | undefined
  const namespace = name('namespace', str('namespace'), env.DYN_NAMESPACE || 'dynamo')
  if (worker) {
    return {
      mode: 'mock-worker',
      namespace,
      component: name('component', str('component'), 'MyComponent'),
      endpoint: name('endpoint', str('endpoint'), 'my_endpoint'),
    }
  }
  if (str('port') !== undefined && str('metrics-port') !== undefined && str('port') !== str('metrics-port')) {
    throw new UsageError('--port and --metrics-port name the same setting; give one')
  }
  const host = str('host') ?? '0.0.0.0'
  if (isIP(host) === 0) throw new UsageError(`--host must be an IP address (got '${host}')`)
  const pushing = values.push === true
  const pushUrl = str('push-url')
  if (!pushing && (pushUrl !== undefined || str('push-interval') !== undefined || str('push-job') !== undefined)) {
    throw new UsageError('--push-url, --push-interval and --push-job need --push')
  }
  let push: AggregateConfig['push'] = null
  if (pushing) {
    if (pushUrl === undefined) throw new UsageError('--push needs --push-url')
    let url: URL
    try {
      url = new URL(pushUrl)
    } catch {
      throw new UsageError(`--push-url must be an http(s) URL (got '${pushUrl}')`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`--push-url must be an http(s) URL (got '${pushUrl}')`)
    }
    push = {
      url: pushUrl.replace(/\/+$/, ''),
      intervalS: intFlag('push-interval', str('push-interval'), 2, 1, 86_400),
      job: name('push-job', str('push-job'), 'dynamo_metrics'),
    }
  }
  return {
    mode: 'aggregate',
    namespace,
    component: name('component', str('component')),
    endpoint: name('endpoint', str('endpoint')),
    modelName: str('model-name') === undefined ? undefined : name('model-name', str('model-name')),
    pollIntervalS: intFlag('poll-interval', str('poll-interval'), 1, 1, 3600),
    host,
    port: intFlag('port', str('port') ?? str('metrics-port'), 9091, 0, 65_535),
    push,
  }
}
