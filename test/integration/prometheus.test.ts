// The Prometheus exporter with real bpftrace on loopback: counters rise by a workload's exact counts,
// promtool accepts the exposition, the comm cap holds, and interrupt labels name what /proc/interrupts names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { copyFile, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { fixturesDir } from '../helpers/paths.js';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { kernelAvailable } from '../helpers/kernel.js';
import { readCsv, runCli, sleep, startCli, tempDir, writeConfig, type RunningCli } from '../helpers/cli.js';
import { run, uniqueTrue, workload } from '../helpers/workload.js';
import { diskOf } from '../helpers/disk.js';

async function scrape(address: string): Promise<string> {
  const res = await fetch(`http://${address}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** The value of one series, 0 when absent. */
function sample(text: string, metric: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const body = line.slice(metric.length + 1, line.lastIndexOf('}'));
    const ok = Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

async function started(cli: RunningCli): Promise<string> {
  const rec = await cli.waitForLog('prometheus exporter listening');
  await cli.waitForLog('monitors attached');
  return String(rec['address']);
}

test('prometheus: counters rise by the workload between two scrapes; health metrics; promtool accepts it', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('prom');
  const prog = await workload('syscalls', 'ebpfm_prom');
  // Syscalls are counted per syscall for the whole host: the comm filter keeps them to the workload's, so exact.
  const config = await writeConfig(dir, 'monitors:\n  syscall: {enabled: true, interval: 1, comm: ebpfm_prom}\n  exec: {enabled: true}\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--prometheus', '127.0.0.1:0', '--duration', '30']);
  const address = await started(cli);
  assert.match(address, /^127\.0\.0\.1:\d+$/, 'loopback');
  await run(prog, ['1000', '10']);
  await sleep(2500);
  const first = await scrape(address);
  const labels = { syscall: 'getppid', category: 'process' };
  assert.equal(sample(first, 'ebpfmon_syscalls_total', labels), 1000);
  await run(prog, ['2345', '67']);
  await sleep(2500);
  const second = await scrape(address);
  assert.equal(sample(second, 'ebpfmon_syscalls_total', labels) - sample(first, 'ebpfmon_syscalls_total', labels), 2345);
  const closeErr = { syscall: 'close', category: 'file' };
  assert.equal(sample(second, 'ebpfmon_syscall_errors_total', closeErr) - sample(first, 'ebpfmon_syscall_errors_total', closeErr), 67);
  assert.doesNotMatch(second, /^ebpfmon_syscalls_total\{[^}]*comm=/m, 'per syscall: no comm label');
  // The per-command total is every syscall of the command: here, the sum over syscalls.
  const sum = (text: string, metric: string): number =>
    text.split('\n').filter((l) => l.startsWith(`${metric}{`)).reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  assert.equal(sample(second, 'ebpfmon_process_syscalls_total', { comm: 'ebpfm_prom' }), sum(second, 'ebpfmon_syscalls_total'));
  assert.ok(sample(second, 'ebpfmon_process_syscalls_total', { comm: 'ebpfm_prom' }) >= 1000 + 10 + 2345 + 67);
  assert.equal(sample(second, 'ebpfmon_process_syscall_errors_total', { comm: 'ebpfm_prom' }), sum(second, 'ebpfmon_syscall_errors_total'));
  assert.equal(sample(second, 'ebpfmon_exec_total', { comm: 'ebpfm_prom' }), 2);
  assert.equal(sample(second, 'ebpfmon_monitor_up', { monitor: 'syscall' }), 1);
  // One memory series per bpftrace process (syscall runs in "main", exec in "paths"), not one per monitor.
  assert.ok(sample(second, 'ebpfmon_bpftrace_rss_bytes', { process: 'main' }) > 10e6);
  assert.equal(sample(second, 'ebpfmon_monitor_process', { monitor: 'syscall', process: 'main' }), 1);
  const processes = new Set([...second.matchAll(/^ebpfmon_monitor_process\{[^}]*process="([^"]+)"/gm)].map((m) => m[1]));
  assert.equal(second.split('\n').filter((l) => l.startsWith('ebpfmon_bpftrace_rss_bytes{')).length, processes.size);
  assert.match(second, /^ebpfmon_build_info\{version="[^"]+",bpftrace_version="\d+\.\d+\.\d+",node_version="\d+\.\d+\.\d+"\} 1$/m);
  assert.ok(sample(second, 'process_resident_memory_bytes', {}) > 10e6 || /^process_resident_memory_bytes \d+/m.test(second));
  assert.ok(sample(second, 'ebpfmon_rows_total', { monitor: 'syscall' }) > 0);
  assert.doesNotMatch(second, /\bpid="/, 'pid is never a label');
  const promtool = await execa('promtool', ['check', 'metrics'], { input: second, reject: false });
  assert.equal(promtool.exitCode, 0, `promtool: ${promtool.stdout}${promtool.stderr}`);
  assert.equal(`${promtool.stdout}${promtool.stderr}`.trim(), '', 'no lint problems');
  cli.proc.kill('SIGTERM');
  assert.equal((await cli.done).exitCode, 0);
});

test('prometheus: the comm cap folds extra commands into comm="other" and counts them', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('promcap');
  const names = await Promise.all(Array.from({ length: 40 }, (_, i) => uniqueTrue(`ebpfm_c${String(i).padStart(2, '0')}`)));
  const config = await writeConfig(dir, 'output: {prometheus: {max_comm_series: 5}}\nmonitors:\n  exec: {enabled: true}\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--prometheus', '127.0.0.1:0', '--duration', '30']);
  const address = await started(cli);
  for (const n of names) await run(n);
  await sleep(500);
  const text = await scrape(address);
  const series = text.split('\n').filter((l) => l.startsWith('ebpfmon_exec_total{'));
  assert.ok(series.length <= 6, `at most 5 comms + other, got ${series.length}`);
  const total = series.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  assert.ok(total >= 40, `every exec still counted (${total})`);
  assert.ok(sample(text, 'ebpfmon_exec_total', { comm: 'other' }) >= 35);
  assert.ok(sample(text, 'ebpfmon_label_values_folded_total', { metric: 'ebpfmon_exec_total', label: 'comm' }) >= 35);
  cli.proc.kill('SIGTERM');
  assert.equal((await cli.done).exitCode, 0);
});

test('prometheus: the bio latency histogram matches the buckets in the CSV and lints clean', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('promhist');
  const config = await writeConfig(dir, 'monitors:\n  bio: {enabled: true, interval: 1}\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--prometheus', '127.0.0.1:0', '--duration', '30']);
  const address = await started(cli);
  const scratch = await mkdtemp('/var/tmp/ebpfmon-hist-');
  // dd's disk, not the first one in the CSV: another disk (zram swap under memory pressure) may write first.
  const devno = await diskOf(scratch);
  assert.ok(devno, '/var/tmp is on a block device');
  await execa('dd', ['if=/dev/zero', `of=${path.join(scratch, 'f')}`, 'bs=64k', 'count=64', 'oflag=direct']);
  await rm(scratch, { recursive: true, force: true });
  await sleep(2500);
  const text = await scrape(address);
  cli.proc.kill('SIGTERM');
  assert.equal((await cli.done).exitCode, 0);
  const rows = (await readCsv(dir, 'bio')).filter((r) => r['io_type'] === 'write' && r['latency_buckets'] && r['device'] === devno);
  assert.ok(rows.length > 0, `write completions with buckets on ${devno}`);
  // The label is the kernel's name (node_exporter's device label), the number beside it.
  const device = path.basename(await realpath(`/sys/dev/block/${devno}`));
  assert.equal(rows[0]!['disk'], device);
  // Every completion scraped is in the CSV; the CSV may hold a few more from after the scrape.
  const csvCount = rows.filter((r) => r['device'] === devno).flatMap((r) => r['latency_buckets']!.split(' ')).reduce((n, p) => n + Number(p.split(':')[1]), 0);
  const count = sample(text, 'ebpfmon_bio_latency_seconds_count', { device, devno, io_type: 'write' });
  assert.ok(count >= 64 && count <= csvCount, `histogram count ${count}, CSV ${csvCount}`);
  const buckets = text.split('\n').filter((l) => l.startsWith(`ebpfmon_bio_latency_seconds_bucket{device="${device}",devno="${devno}",io_type="write"`));
  assert.equal(buckets.length, 15);
  const values = buckets.map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
  assert.deepEqual(values, [...values].sort((a, b) => a - b), 'cumulative');
  assert.equal(values.at(-1), count);
  assert.ok(sample(text, 'ebpfmon_bio_latency_seconds_sum', { device, io_type: 'write' }) > 0);
  const promtool = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
  assert.equal(promtool.exitCode, 0, `${promtool.stdout}${promtool.stderr}`);
});

test('prometheus: interrupt labels are those of /proc/interrupts (as node_exporter), CPUs summed; promtool accepts them', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('promirq');
  const config = await writeConfig(dir, 'monitors:\n  interrupt: {enabled: true, interval: 1}\n  context_switch: {enabled: true, interval: 1}\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--prometheus', '127.0.0.1:0', '--duration', '30']);
  const address = await started(cli);
  // A quiet VM can go 2.5 s without a device interrupt (its timer ticks are not irq_handler_entry events): a
  // synced write makes the disk raise some.
  await execa('dd', ['if=/dev/zero', `of=${path.join(dir, 'irq')}`, 'bs=64k', 'count=16', 'conv=fsync', 'status=none'], { reject: false });
  await sleep(2500);
  const text = await scrape(address);
  cli.proc.kill('SIGTERM');
  assert.equal((await cli.done).exitCode, 0);
  const procLines = (await readFile('/proc/interrupts', 'utf8')).split('\n');
  const hard = text.split('\n').filter((l) => l.startsWith('ebpfmon_interrupts_total{'));
  assert.ok(hard.length > 0, 'some hard interrupt in 2.5 s (timer, disk or network)');
  for (const line of hard) {
    const m = /^ebpfmon_interrupts_total\{type="(\d+)",devices="([^"]+)"\} \d+/.exec(line);
    assert.ok(m, `type (the IRQ number) and devices, no cpu: ${line}`);
    const proc = procLines.find((l) => l.trimStart().startsWith(`${m[1]}:`));
    assert.ok(proc?.includes(m[2]!), `/proc/interrupts line ${m[1]} names ${m[2]}: ${proc}`);
  }
  assert.ok(sample(text, 'ebpfmon_softirqs_total', { vector: 'timer' }) + sample(text, 'ebpfmon_softirqs_total', { vector: 'rcu' }) > 0);
  assert.doesNotMatch(text, /\bcpu="/, 'no cpu label without per_cpu');
  assert.ok(sample(text, 'ebpfmon_context_switches_total', { kind: 'voluntary' }) > 0);
  const promtool = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
  assert.equal(promtool.exitCode, 0, `${promtool.stdout}${promtool.stderr}`);
});

test('prometheus: --web.config.file serves over TLS (self-signed) with basic auth: 401 without credentials, metrics with them', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('promtls');
  // A committed self-signed certificate (test/fixtures/tls): the Debian 13 and sid test systems have no openssl.
  for (const f of ['cert.pem', 'key.pem']) await copyFile(path.join(fixturesDir, 'tls', f), path.join(dir, f));
  // crypt_blowfish's published vector: user prom, password U*U.
  await writeFile(path.join(dir, 'web.yml'), "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  prom: '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'\n");
  const config = await writeConfig(dir, 'monitors:\n  exec: {enabled: true}\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--prometheus', '127.0.0.1:0', '--web.config.file', path.join(dir, 'web.yml'), '--duration', '30']);
  const rec = await cli.waitForLog('prometheus exporter listening');
  await cli.waitForLog('monitors attached');
  assert.equal(rec['scheme'], 'https');
  const ca = await readFile(path.join(dir, 'cert.pem'));
  const get = (auth?: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(`https://${String(rec['address'])}/metrics`, { ca, headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {} }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  assert.equal((await get()).status, 401);
  assert.equal((await get('prom:wrong')).status, 401);
  const ok = await get('prom:U*U');
  assert.equal(ok.status, 200);
  assert.match(ok.body, /^ebpfmon_monitor_up\{monitor="exec"\} 1$/m);
  // Plain HTTP on the TLS port gets no metrics.
  await assert.rejects(fetch(`http://${String(rec['address'])}/metrics`).then(async (r) => { if (r.status === 200 && (await r.text()).includes('ebpfmon_')) throw new Error('metrics over plain HTTP'); throw new Error('refused'); }));
  cli.proc.kill('SIGTERM');
  assert.equal((await cli.done).exitCode, 0);
});

test('prometheus: SIGHUP reads the web config again: a renewed certificate and new users serve the next connections; turning TLS off is refused', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('promreload');
  const tls = (cert: string, key: string): Promise<void[]> =>
    Promise.all([copyFile(path.join(fixturesDir, 'tls', cert), path.join(dir, 'cert.pem')), copyFile(path.join(fixturesDir, 'tls', key), path.join(dir, 'key.pem'))]);
  const web = (user: string, withTls = true): Promise<void> =>
    writeFile(path.join(dir, 'web.yml'), `${withTls ? 'tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n' : ''}basic_auth_users:\n  ${user}: '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'\n`);
  await tls('cert.pem', 'key.pem');
  await web('prom');
  const config = await writeConfig(dir, 'monitors:\n  exec: {enabled: true}\n');
  const cli = startCli(['start', '-c', config, '-o', dir, '--prometheus', '127.0.0.1:0', '--web.config.file', path.join(dir, 'web.yml'), '--duration', '60']);
  t.after(() => {
    if (cli.proc.exitCode === null) cli.proc.kill('SIGKILL');
  });
  const rec = await cli.waitForLog('prometheus exporter listening');
  await cli.waitForLog('monitors attached');
  const ca1 = await readFile(path.join(fixturesDir, 'tls', 'cert.pem'));
  const ca2 = await readFile(path.join(fixturesDir, 'tls', 'cert2.pem'));
  // A new connection each time (no keep-alive agent): a reload applies to the connections after it.
  const get = (ca: Buffer, auth: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(`https://${String(rec['address'])}/metrics`, { ca, agent: false, headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  assert.equal(await get(ca1, 'prom:U*U'), 200);
  await tls('cert2.pem', 'key2.pem');
  await web('scraper');
  cli.proc.kill('SIGHUP');
  await cli.waitForLog('prometheus exporter: web config reloaded');
  await assert.rejects(get(ca1, 'scraper:U*U'), /self[- ]signed|certificate/i, 'the old certificate is no longer served');
  assert.equal(await get(ca2, 'scraper:U*U'), 200);
  assert.equal(await get(ca2, 'prom:U*U'), 401, 'the user removed from the file');
  // TLS off takes a restart: refused, the exporter goes on as it was.
  await web('prom', false);
  cli.proc.kill('SIGHUP');
  const refused = await cli.waitForLog('prometheus exporter: web config not reloaded; the one before stays');
  assert.equal(refused['reason'], 'the exporter serves HTTPS: turning TLS off takes a restart');
  assert.equal(await get(ca2, 'scraper:U*U'), 200);
  cli.proc.kill('SIGTERM');
  assert.equal((await cli.done).exitCode, 0);
});

test('prometheus: a web config with an unknown key stops start with one clear line', async (t) => {
  if (!kernelAvailable(t)) return;
  const dir = await tempDir('promwebbad');
  await writeFile(path.join(dir, 'web.yml'), 'http_server_config: {http2: false}\n');
  const config = await writeConfig(dir, 'monitors:\n  exec: {enabled: true}\n');
  const r = await runCli(['start', '-c', config, '-o', dir, '--prometheus', '127.0.0.1:0', '--web.config.file', path.join(dir, 'web.yml'), '--duration', '5']);
  assert.notEqual(r.exitCode, 0);
  assert.match(r.stderr, /web config .*web\.yml: http_server_config: not supported by ebpfmon/);
});
