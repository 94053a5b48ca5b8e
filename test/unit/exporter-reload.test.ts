// SIGHUP and the exporter: what a reloaded config changes that only a restart applies, one line each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { exporterRestartChanges } from '../../src/session/exporter.js';

const conf = (prom: string): ReturnType<typeof parseConfig> => parseConfig(`output: {prometheus: ${prom}}\nmonitors: {exec: {enabled: true}}\n`, 'test.yaml');

test('exporter reload: listen, path and on/off changes are named (they take a restart); the web config file is not one', () => {
  const on = conf('{enabled: true, listen: "127.0.0.1:9464"}');
  const cases: [string, string, { prometheus?: string }, string[]][] = [
    ['nothing changed', '{enabled: true, listen: "127.0.0.1:9464"}', {}, []],
    ['web config file only: applied by the reload', '{enabled: true, listen: "127.0.0.1:9464", web_config_file: /etc/w.yml}', {}, []],
    ['listen moved', '{enabled: true, listen: "0.0.0.0:9464"}', {}, ['output.prometheus.listen is now 0.0.0.0:9464: the exporter moves there at the next restart']],
    ['listen moved, but --prometheus decides it', '{enabled: true, listen: "0.0.0.0:9464"}', { prometheus: '127.0.0.1:9999' }, []],
    ['path changed', '{enabled: true, listen: "127.0.0.1:9464", path: /m}', {}, ['output.prometheus.path is now /m: it applies at the next restart']],
    ['turned off', '{enabled: false}', {}, ['output.prometheus.enabled is now false: the exporter stops at the next restart']],
    ['turned off, but --prometheus keeps it on', '{enabled: false}', { prometheus: '127.0.0.1:9999' }, []],
  ];
  for (const [name, after, opts, want] of cases) assert.deepEqual(exporterRestartChanges(on, conf(after), opts), want, name);
  assert.deepEqual(exporterRestartChanges(conf('{enabled: false}'), on, {}), ['output.prometheus.enabled is now true: the exporter starts at the next restart']);
});
