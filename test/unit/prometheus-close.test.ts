// The exporter's server must never hold up shutdown: any local user can open a connection to it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createPrometheusSink } from '../../src/sinks/prometheus.js';

const sink = () =>
  createPrometheusSink({ listen: '127.0.0.1:0', path: '/metrics', maxCommSeries: 10, metrics: new Map(), health: () => [], usage: () => Promise.resolve(null) });

/** A connected socket that has written `text` (maybe nothing) and then waits; destroyed when the test ends. */
function connect(t: TestContext, address: string, text: string): Promise<net.Socket> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(address.slice(i + 1)), address.slice(0, i), () => {
      if (text) s.write(text);
      resolve(s);
    });
    s.on('error', reject);
    s.resume(); // read what the server sends (a 408), or its close goes unseen
    t.after(() => s.destroy());
  });
}

const closedWithin = (s: net.Socket, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });

test('prometheus close: an idle connection and a half-sent request do not delay it', { timeout: 15_000 }, async (t) => {
  const p = await sink();
  const idle = await connect(t, p.address, '');
  const half = await connect(t, p.address, 'GET /metrics HTTP/1.1\r\nHost: x\r\n');
  // A scrape on a later connection answered: the server has accepted the two before it (in order) and read the
  // half-sent request, so close() meets both.
  const scrape = await fetch(`http://${p.address}/metrics`, { headers: { connection: 'close' } });
  assert.equal(scrape.status, 200);
  await scrape.text();
  const t0 = Date.now();
  await p.close();
  const ms = Date.now() - t0;
  assert.ok(ms < 4000, `close took ${ms} ms`);
  assert.ok(await closedWithin(idle, 1000), 'idle connection closed');
  assert.ok(await closedWithin(half, 1000), 'half-sent request closed');
});

test('prometheus close: a scrape just answered leaves an idle keep-alive connection, closed at once', { timeout: 15_000 }, async () => {
  const p = await sink();
  const res = await fetch(`http://${p.address}/metrics`);
  assert.equal(res.status, 200);
  await res.text();
  const t0 = Date.now();
  await p.close();
  assert.ok(Date.now() - t0 < 2000, `close took ${Date.now() - t0} ms`);
});

test('prometheus: connections beyond the cap are dropped at once', { timeout: 15_000 }, async (t) => {
  const p = await sink();
  await Promise.all(Array.from({ length: 64 }, () => connect(t, p.address, '')));
  const extra = await connect(t, p.address, '');
  assert.ok(await closedWithin(extra, 2000), 'the 65th connection was closed by the server');
  t.after(() => p.close());
});

test('prometheus: a request whose headers never finish is dropped within seconds', { timeout: 20_000 }, async (t) => {
  const p = await sink();
  const half = await connect(t, p.address, 'GET /metrics HTTP/1.1\r\n');
  const t0 = Date.now();
  assert.ok(await closedWithin(half, 12_000), `still open after ${Date.now() - t0} ms`);
  t.after(() => p.close());
});

test('prometheus: HEAD is answered like GET without a body; other methods get 405 with Allow: GET, HEAD', async (t) => {
  const p = await sink();
  t.after(() => p.close());
  const url = `http://${p.address}/metrics`;
  const get = await fetch(url);
  assert.equal(get.status, 200);
  const head = await fetch(url, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-type'), get.headers.get('content-type'));
  assert.equal(await head.text(), '');
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const r = await fetch(url, { method });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.get('allow'), 'GET, HEAD', method);
  }
  assert.equal((await fetch(`http://${p.address}/other`, { method: 'HEAD' })).status, 404);
});
