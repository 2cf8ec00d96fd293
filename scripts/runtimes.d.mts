/** Types of runtimes.mjs, for the TypeScript tests that start servers on other runtimes. */
export type RuntimeName = 'node22' | 'node24' | 'node26' | 'bun' | 'deno'
export const RUNTIMES: Record<RuntimeName, { package: string, bin: string, args: string[] }>
export const RUNTIME_NAMES: RuntimeName[]
export const cacheDir: string
export function runtimeBinary (name: RuntimeName): string | undefined
export function runtimeCommand (name: RuntimeName, script: string, args?: string[]): { command: string, args: string[] }
export function installRuntimes (names?: RuntimeName[]): Promise<Record<RuntimeName, string>>
