// Readiness for systemd (Type=notify): READY=1 once every monitor attached or failed for good, RELOADING=1 then
// READY=1 around a SIGHUP reload, STOPPING=1 when shutdown begins. Node has no AF_UNIX datagram sockets, so the
// messages go through systemd-notify(1), spawned directly by ebpfmon with its environment (NOTIFY_SOCKET):
// - as root, systemd-notify sends with its parent's pid (ebpfmon, the unit's main process) in the credentials;
//   without the privilege to do so it sends as itself, which NotifyAccess=all in the unit accepts;
// - without --no-block it waits until systemd has processed the message (a barrier), so the message is not lost
//   to the race of a sender that exits before systemd looks up its unit.
// The messages are sent one after another, in the order asked for. Outside systemd (no NOTIFY_SOCKET) nothing runs.
import { execFile } from 'node:child_process';
import type { Logger } from '../log.js';

/** Runs a program with arguments and environment; rejects when it cannot start or exits non-zero. */
export type RunProgram = (file: string, args: readonly string[], env: NodeJS.ProcessEnv) => Promise<void>;

export interface SdNotifier {
  /** Sends `fields` (READY=1, STATUS=...) after the messages sent before; never rejects (failures are logged). */
  notify(fields: Readonly<Record<string, string>>): Promise<void>;
}

const runProgram: RunProgram = (file, args, env) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: 10_000, env }, (e, _stdout, stderr) => (e ? reject(new Error(`${e.message.split('\n')[0] ?? ''} ${stderr.trim()}`.trim())) : resolve()));
  });

/** systemd-notify's arguments for these fields: VARIABLE=VALUE words, values on one line. */
function notifyArgs(fields: Readonly<Record<string, string>>): string[] {
  return Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/\s+/g, ' ')}`);
}

/** A notifier for the environment `env`: null when ebpfmon was not started by systemd with Type=notify. */
export function createSdNotifier(log: Logger, env: NodeJS.ProcessEnv = process.env, run: RunProgram = runProgram): SdNotifier | null {
  if (!env['NOTIFY_SOCKET']) return null;
  let last: Promise<void> = Promise.resolve();
  return {
    notify(fields) {
      last = last.then(() =>
        run('systemd-notify', notifyArgs(fields), env).then(
          () => log.debug({ fields }, 'told systemd'),
          (e: unknown) => log.error({ fields, reason: (e as Error).message }, `cannot tell systemd ${Object.keys(fields).join(', ')} (systemd-notify failed): ${(e as Error).message}`),
        ),
      );
      return last;
    },
  };
}
