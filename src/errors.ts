// Errors a user can cause. Each ends as one line on stderr and a non-zero exit code; only cli/main.ts prints them.

export const Exit = { ok: 0, runtime: 1, usage: 2, environment: 3 } as const;

export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 | 3,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UserError';
  }
}

/** Bad command line or bad config: exit 2. */
export class UsageError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, Exit.usage, options);
    this.name = 'UsageError';
  }
}

/** One config problem, already rendered as `path: message`. */
export class ConfigError extends UsageError {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(problems.map((p) => `config error: ${p}`).join('\n') + (file ? `\n  (in ${file})` : ''));
    this.name = 'ConfigError';
  }
}

/** The machine cannot run ebpfmon (not root, no bpftrace, no tracefs): exit 3. */
export class EnvironmentError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, Exit.environment, options);
    this.name = 'EnvironmentError';
  }
}

/** A failure at run time that is not a bug: one line, exit 1 (e.g. every monitor failed, the daemon died). */
export class RunFailure extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, Exit.runtime, options);
    this.name = 'RunFailure';
  }
}

export const isUserError = (e: unknown): e is UserError => e instanceof UserError;

/** A short description of anything thrown, for logs and one-line messages. */
export function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** The errno name (`ENOENT`, `EACCES`) of a failed system call, or undefined when `e` carries none. */
export function errnoOf(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
  return typeof code === 'string' ? code : undefined;
}
