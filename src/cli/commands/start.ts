// `ebpfmon start`: the command line's options turned into a session run (src/session/run.ts), which runs until a
// signal, --duration, the end of the --pid targets or of every bpftrace, reloads on SIGHUP and shuts down without
// losing the final interval.
import { requirePids, scopeOf } from '../../session/targets.js';
import { runSession, type SessionRunDeps, type SessionSummary } from '../../session/run.js';

export interface StartOptions {
  config?: string | undefined;
  monitors?: string | undefined;
  duration?: number | undefined;
  outputDir?: string | undefined;
  console?: boolean | undefined;
  /** Run these operator-edited scripts (a directory of .bt files, or one file) instead of generating. */
  scripts?: string | undefined;
  /** Serve Prometheus metrics on this host:port (overrides output.prometheus). */
  prometheus?: string | undefined;
  /** TLS and basic auth of the exporter (overrides output.prometheus.web_config_file). */
  webConfigFile?: string | undefined;
  /** Count only these processes (`--pid`, tgids) and threads of this name (`--comm`): src/session/targets.ts. */
  pid?: number[] | undefined;
  comm?: string | undefined;
}

export async function runStart(opts: StartOptions, deps: SessionRunDeps): Promise<SessionSummary> {
  // A --pid that names no process is refused before anything is read or attached.
  if (opts.pid) requirePids(opts.pid);
  return runSession(
    {
      config: opts.config,
      monitors: opts.monitors,
      scripts: opts.scripts,
      duration: opts.duration,
      outputDir: opts.outputDir,
      console: opts.console,
      prometheus: opts.prometheus,
      webConfigFile: opts.webConfigFile,
      scope: scopeOf(opts),
    },
    deps,
  );
}
