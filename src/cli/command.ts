// What a CLI command is, and the argument parsing they share. Usage errors
// exit 2, every other failure 1 (see index.ts).
import { type ParseArgsConfig, parseArgs } from 'node:util'

export interface CliIo {
  env: NodeJS.ProcessEnv
  stdout: NodeJS.WritableStream
  /** Progress and messages; `isTTY` selects a progress bar over plain lines. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean }
}

export interface Command {
  /** Synopsis lines shown by --help and after a usage error. */
  usage: string
  run(args: string[], io: CliIo): Promise<void>
}

/** The command line was wrong: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export type OptionValues = Record<string, string | boolean | undefined>

/** Strict parsing: unknown options and stray positionals are usage errors. */
export function parseOptions(args: string[], options: NonNullable<ParseArgsConfig['options']>): OptionValues {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as OptionValues
  } catch (err) {
    const code = (err as { code?: string }).code ?? ''
    if (!code.startsWith('ERR_PARSE_ARGS')) throw err
    // Node's messages add advice about '--'; the first sentence says what is wrong.
    throw new UsageError((err as Error).message.split('. ')[0])
  }
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name]
  return typeof value === 'string' ? value : undefined
}

/** A whole number within [min, max], or undefined when the option is absent. */
export function integerOption(
  values: OptionValues,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = stringOption(values, name)
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new UsageError(
      `--${name} must be a whole number between ${min} and ${max}, got ${JSON.stringify(raw)}`,
    )
  }
  return value
}
