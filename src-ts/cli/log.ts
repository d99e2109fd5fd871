/** Log lines shaped like Dynamo's (`<RFC 3339 time>  INFO metrics: ...`), at the `DYN_LOG` level. */
const LEVELS = { error: 0, warn: 1, info: 2, debug: 3 } as const
type Level = keyof typeof LEVELS

export interface Logger {
  error(msg: string): void
  warn(msg: string): void
  info(msg: string): void
  debug(msg: string): void
}

export function logger(target: string, env: NodeJS.ProcessEnv): Logger {
  const raw = (env.DYN_LOG ?? 'info').toLowerCase().split(',')[0].trim()
  const max = raw in LEVELS ? LEVELS[raw as Level] : LEVELS.info
  const line = (level: Level) => (msg: string) => {
    if (LEVELS[level] > max) return
    process.stdout.write(`${new Date().toISOString()} ${level.toUpperCase().padStart(5)} ${target}: ${msg}\n`)
  }
  return { error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug') }
}
