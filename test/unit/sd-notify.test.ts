// systemd readiness (src/daemon/sd-notify.ts): what ebpfmon sends, in which order, and that the real
// systemd-notify delivers it with ebpfmon's pid as the sender (what lets systemd attribute it to the unit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { openLog } from '../../src/log.js';
import { createSdNotifier, type RunProgram } from '../../src/daemon/sd-notify.js';
import { toolAvailable } from '../helpers/tools.js';

const { log } = openLog({ level: 'silent' });

test('no NOTIFY_SOCKET: no notifier, nothing runs', () => {
  assert.equal(createSdNotifier(log, {}, () => assert.fail('ran')), null);
});

test('messages go out one after another, in the order asked, as VARIABLE=VALUE words; a failure is logged, not thrown', async () => {
  const sent: string[][] = [];
  let release: () => void = () => undefined;
  const first = new Promise<void>((r) => (release = r));
  const run: RunProgram = async (file, args) => {
    assert.equal(file, 'systemd-notify');
    sent.push([...args]);
    if (sent.length === 1) await first;
    if (args.includes('STOPPING=1')) throw new Error('exit 1');
  };
  const n = createSdNotifier(log, { NOTIFY_SOCKET: '/run/systemd/notify' }, run);
  assert.ok(n);
  const a = n.notify({ READY: '1', STATUS: 'attached: exec,\nsyscall' });
  const b = n.notify({ RELOADING: '1' });
  const c = n.notify({ STOPPING: '1' });
  await new Promise((r) => setImmediate(r));
  assert.equal(sent.length, 1, 'the second waits for the first');
  release();
  await Promise.all([a, b, c]);
  assert.deepEqual(sent, [['READY=1', 'STATUS=attached: exec, syscall'], ['RELOADING=1'], ['STOPPING=1']]);
});

// A datagram socket with SO_PASSCRED, as systemd's notify socket: prints each message's sender pid and text
// (Debian's python3 by path: a pyenv shim on the development machine does not bind where others see the socket).
const receiver = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    msg, anc, _, _ = s.recvmsg(4096, 256)
    pid = next((int.from_bytes(d[0:4], "little") for l, t, d in anc if l == socket.SOL_SOCKET and t == socket.SCM_CREDENTIALS), -1)
    print(pid, msg.decode().replace("\\n", "|"), flush=True)
`;

test("the real systemd-notify delivers READY=1 with ebpfmon's pid as the sender (as root), and returns after delivery", async (t) => {
  if (!toolAvailable(t, 'systemd-notify', 'systemd') || !toolAvailable(t, '/usr/bin/python3', 'python3')) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ebpfmon-notify-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'notify');
  const py = spawn('/usr/bin/python3', ['-c', receiver, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => py.kill());
  const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  assert.equal((await lines.next()).value, 'listening');
  const n = createSdNotifier(log, { ...process.env, NOTIFY_SOCKET: sock });
  assert.ok(n);
  await n.notify({ READY: '1', STATUS: 'attached: exec' });
  const got = String((await lines.next()).value);
  const [pid, text] = [got.slice(0, got.indexOf(' ')), got.slice(got.indexOf(' ') + 1)];
  assert.ok(text.split('|').includes('READY=1') && text.split('|').includes('STATUS=attached: exec'), text);
  // Root may name another pid in SCM_CREDENTIALS: systemd-notify names its parent, this process.
  if (process.getuid?.() === 0) assert.equal(Number(pid), process.pid, 'the sender is the main process');
});
