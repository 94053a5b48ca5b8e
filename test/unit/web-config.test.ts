// The exporter's web config (exporter-toolkit format): bcrypt checked against published vectors, unknown keys
// refused with one line, basic auth with its cache, and the exporter served over TLS with and without credentials.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { fixturesDir } from '../helpers/paths.js';
import { request } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { bcryptHash, bcryptVerify, parseHash, piFraction } from '../../src/sinks/bcrypt.js';
import { basicAuth, loadWebConfig } from '../../src/sinks/web-config.js';
import { createPrometheusSink } from '../../src/sinks/prometheus.js';
import { UsageError } from '../../src/errors.js';

/** crypt_blowfish's (openwall) published vectors, pyca/bcrypt's $2b$, and libxcrypt's crypt(3) on Debian 12 for $2y$, $2b$ and UTF-8. */
const vectors: [string, string][] = [
  ['U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'],
  ['U*U*', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK'],
  ['U*U*U', '$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a'],
  ['0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored', '$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui'],
  ['VFPO7YXnHQbQO', '$2b$04$WQp9.igoLqVr6Qk70mz6xuRxE0RttVXXdukpR9N54x17ecad34ZF6'],
  ['correct horse battery staple', '$2y$10$abcdefghijklmnopqrstuuGGgFFcYeueaAql8Z7U7CnCTRw4DR77W'],
  ['ebpfmon', '$2b$04$0123456789ABCDEFGHIJK.wmUvIR7n/9pIjuOkjTS.h/sFHbuJ.Oq'],
  ['пароль', '$2b$05$ZYXWVUTSRQPONMLKJIHGF.R/IM4wLVxqFYDo/IbKpytKIqnb9R5Hi'],
];

test('bcrypt: Blowfish starts from the digits of pi; the published vectors verify, changed passwords do not', () => {
  const pi = piFraction();
  // P[0], P[1], S[0][0] and S[3][255] of Blowfish.
  assert.deepEqual([pi[0], pi[1], pi[18], pi[pi.length - 1]], [0x243f6a88, 0x85a308d3, 0xd1310ba6, 0x3ac372e6]);
  for (const [pw, hash] of vectors) {
    assert.equal(bcryptHash(pw, hash), hash, pw);
    assert.ok(bcryptVerify(pw, hash), pw);
    assert.ok(!bcryptVerify(`!${pw.slice(1)}`, hash), `changed ${pw}`);
  }
  // Only 72 bytes count.
  assert.ok(bcryptVerify(`${vectors[3]![0]} and more`, vectors[3]![1]));
  assert.ok(!bcryptVerify('U*U', vectors[0]![1].replace('$2a$', '$2x$')), '$2x$ is refused');
  assert.ok('error' in parseHash('$2b$03$abcdefghijklmnopqrstuuGGgFFcYeueaAql8Z7U7CnCTRw4DR77W'));
  assert.ok('error' in parseHash('$2b$17$abcdefghijklmnopqrstuuGGgFFcYeueaAql8Z7U7CnCTRw4DR77W'));
  assert.ok('error' in parseHash('plain'));
});

test('basic auth: right user and password only; unknown users cost a check too; Authorization headers that are not Basic fail', () => {
  const check = basicAuth(new Map([['prom', vectors[0]![1]]]));
  const header = (s: string): string => `Basic ${Buffer.from(s).toString('base64')}`;
  assert.ok(check(header('prom:U*U')));
  assert.ok(check(header('prom:U*U')), 'cached');
  assert.ok(!check(header('prom:U*U*')));
  assert.ok(!check(header('other:U*U')));
  assert.ok(!check(header('promU*U')));
  assert.ok(!check(undefined));
  assert.ok(!check('Bearer x'));
});

async function dir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'ebpfmon-web-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** A self-signed certificate for 127.0.0.1 and its key (test/fixtures/tls: no openssl needed where tests run). */
async function selfSigned(d: string): Promise<void> {
  for (const f of ['cert.pem', 'key.pem']) await copyFile(path.join(fixturesDir, 'tls', f), path.join(d, f));
}

test('web config: unknown keys, a bad hash, an unreadable certificate: one clear error each', async (t) => {
  const d = await dir(t);
  await selfSigned(d);
  const cases: [string, RegExp][] = [
    ['http_server_config: {http2: false}\n', /http_server_config: not supported by ebpfmon \(it reads tls_server_config\.cert_file, tls_server_config\.key_file, basic_auth_users\)/],
    ['tls_server_config: {cert_file: cert.pem, key_file: key.pem, client_auth_type: RequireAndVerifyClientCert}\n', /tls_server_config\.client_auth_type: not supported/],
    ['basic_auth_users: {prom: secret}\n', /basic_auth_users\.prom: not a bcrypt hash/],
    ['tls_server_config: {cert_file: missing.pem, key_file: key.pem}\n', /tls_server_config\.cert_file .*missing\.pem: cannot read it \(ENOENT\)/],
    ['tls_server_config: {cert_file: key.pem, key_file: key.pem}\n', /do not make a TLS server/],
    ['[1, 2]\n', /web config .*: /],
  ];
  for (const [text, want] of cases) {
    const f = path.join(d, 'web.yml');
    await writeFile(f, text);
    await assert.rejects(loadWebConfig(f), (e: unknown) => e instanceof UsageError && want.test(e.message) && !e.message.includes('\n'), text);
  }
  await writeFile(path.join(d, 'web.yml'), `tls_server_config:\n  cert_file: cert.pem\n  key_file: ${path.join(d, 'key.pem')}\nbasic_auth_users:\n  prom: '${vectors[0]![1]}'\n`);
  const web = await loadWebConfig(path.join(d, 'web.yml'));
  assert.ok(web.tls);
  assert.equal(web.users.get('prom'), vectors[0]![1]);
});

/** GET over https trusting `ca`: status and body. */
function get(url: string, ca: Buffer | null, auth?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...(ca ? { ca } : {}), headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the exporter over TLS with basic auth: 401 without or with wrong credentials, metrics with them', async (t) => {
  const d = await dir(t);
  await selfSigned(d);
  await writeFile(path.join(d, 'web.yml'), `tls_server_config: {cert_file: cert.pem, key_file: key.pem}\nbasic_auth_users: {prom: '${vectors[0]![1]}'}\n`);
  const web = await loadWebConfig(path.join(d, 'web.yml'));
  const sink = await createPrometheusSink({ listen: '127.0.0.1:0', path: '/metrics', maxCommSeries: 2, metrics: new Map(), health: () => [], usage: () => Promise.resolve(null), web });
  t.after(() => sink.close());
  assert.equal(sink.scheme, 'https');
  const url = `https://${sink.address}/metrics`;
  const ca = web.tls!.cert;
  const none = await get(url, ca);
  assert.equal(none.status, 401);
  assert.match(String(none.headers['www-authenticate']), /^Basic realm="ebpfmon"/);
  assert.equal((await get(url, ca, 'prom:wrong')).status, 401);
  assert.equal((await get(url, ca, 'nobody:U*U')).status, 401);
  const ok = await get(url, ca, 'prom:U*U');
  assert.equal(ok.status, 200);
  assert.match(ok.body, /^ebpfmon_build_info\{/m);
  // An untrusted certificate is refused by the client: it is TLS, not plain HTTP.
  await assert.rejects(get(url, null, 'prom:U*U'), /self[- ]signed/i);
});
