// The checks of configuration values, and the one variable the launcher
// (src/server.ts) reads before the service thread exists. Kept apart from
// config.ts so the launcher loads nothing of the service.

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`)
    this.name = 'ConfigError'
  }
}

export function integer(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got ${JSON.stringify(raw)}`)
  const value = Number(raw)
  if (value < min || value > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`)
  return value
}

/**
 * MiB of the service thread's young generation (V8 splits it into three
 * equal spaces: two semi-spaces and new large objects). Node's default lets
 * a semi-space grow to 16 MiB; every scavenge then copies what a second of
 * computations still holds, pausing every request for 5–10 ms. 12 MiB (4 MiB
 * semi-spaces) keeps pauses near 1–2 ms at a few more scavenges.
 */
export function youngGenerationMb(env: NodeJS.ProcessEnv = process.env): number {
  return integer(env, 'YOUNG_GENERATION_MB', 12, 3, 1024)
}

/** Nice value of the process's helper threads (src/background-threads.ts); 0 leaves them as started. */
export function backgroundThreadNice(env: NodeJS.ProcessEnv = process.env): number {
  return integer(env, 'BACKGROUND_THREAD_NICE', 19, 0, 19)
}
