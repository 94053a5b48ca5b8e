// What asks a run to stop from outside: signals, and stdout failing. `ebpfmon start --console | head` or
// `ebpfmon top | head`: the reader went away, and the run stops as on SIGTERM (bpftrace prints its final interval,
// the scripts' directory is removed) rather than die on an unhandled EPIPE.

export interface StopRequests {
  signals: readonly NodeJS.Signals[];
  onSignal(sig: NodeJS.Signals): void;
  stdout: NodeJS.WritableStream;
  /** stdout failed (EPIPE: its reader is gone). */
  onOutError(e: NodeJS.ErrnoException): void;
}

/** Installs the handlers; returns the function that removes them. */
export function watchStopRequests(r: StopRequests): () => void {
  for (const s of r.signals) process.on(s, r.onSignal);
  r.stdout.on('error', r.onOutError);
  return () => {
    for (const s of r.signals) process.removeListener(s, r.onSignal);
    r.stdout.removeListener('error', r.onOutError);
  };
}
