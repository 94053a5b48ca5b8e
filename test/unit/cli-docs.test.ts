// The man page and the shell completions are generated from the command line's own definitions
// (scripts/gen-cli-docs.ts walks src/cli/program.ts): the committed copies must be what the generator writes now,
// must render (groff) or parse (bash -n, zsh -n), and the completions must complete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { bashCompletion, describeProgram, generated, manPage, outputs, zshCompletion } from '../../scripts/gen-cli-docs.js';
import { repoRoot } from '../helpers/paths.js';

test('the committed man page and completions are what scripts/gen-cli-docs.ts generates from the program (npm run docs)', () => {
  for (const [rel, text] of Object.entries(generated())) {
    assert.equal(readFileSync(path.join(repoRoot, rel), 'utf8'), text, `${rel} is stale: run npm run docs`);
  }
});

test('every command and every option of the program is in the man page and both completions', () => {
  const p = describeProgram();
  const g = generated();
  const man = g[outputs.man] ?? '';
  const bash = g[outputs.bash] ?? '';
  const zsh = g[outputs.zsh] ?? '';
  assert.ok(p.commands.length >= 8, 'start, top, stop, status, generate, check, analyze, list');
  for (const c of p.commands) {
    assert.match(man, new RegExp(`^\\.SS "${c.name}`, 'm'), `man: ${c.name}`);
    assert.match(bash, new RegExp(`^    ${[c.name, ...c.aliases].join('\\|')}\\)`, 'm'), `bash: ${c.name}`);
    assert.match(zsh, new RegExp(`^    '${c.name}:`, 'm'), `zsh: ${c.name}`);
    for (const o of c.options) {
      const long = o.long ?? '';
      if (long !== '--help') assert.ok(man.includes(long.replace(/-/g, '\\-')), `man: ${c.name} ${long}`);
      assert.ok(bash.includes(` ${long}`), `bash: ${c.name} ${long}`);
      assert.ok(zsh.includes(`${long}${o.kind ? '=' : ''}[`), `zsh: ${c.name} ${long}`);
    }
  }
});

test('the man page renders with groff and no warning', () => {
  const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', path.join(repoRoot, outputs.man)], { encoding: 'utf8' });
  assert.equal(r.error, undefined, 'groff runs (setup.sh test installs groff-base)');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const text = spawnSync('groff', ['-man', '-Tutf8', '-P-cbou', path.join(repoRoot, outputs.man)], { encoding: 'utf8' }).stdout;
  assert.match(text, /^NAME\n\s+ebpfmon - /m);
  assert.match(text, /--log-level level/);
});

test('the completions parse: bash -n and zsh -n', () => {
  for (const [shell, rel] of [['bash', outputs.bash], ['zsh', outputs.zsh]] as const) {
    const r = spawnSync(shell, ['-n', path.join(repoRoot, rel)], { encoding: 'utf8' });
    assert.equal(r.error, undefined, `${shell} runs (setup.sh test installs zsh)`);
    assert.equal(r.status, 0, `${shell} -n ${rel}: ${r.stderr}`);
  }
});

/** What the bash completion offers for a command line whose last word is being completed. */
function complete(words: string[]): string[] {
  const script = `source ${JSON.stringify(path.join(repoRoot, outputs.bash))}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_ebpfmon; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).sort();
}

test('the bash completion completes commands, options, choices and paths', () => {
  assert.deepEqual(complete(['ebpfmon', 'st']), ['start', 'status', 'stop']);
  assert.deepEqual(complete(['ebpfmon', 'start', '--log-level', 's']), ['silent']);
  assert.deepEqual(complete(['ebpfmon', 'analyze', '--format', '']), ['html', 'json', 'text']);
  assert.ok(complete(['ebpfmon', 'start', '--d']).includes('--daemon'));
  assert.ok(complete(['ebpfmon', 'dry-run', '--']).includes('--no-detect'), 'an alias completes as its command');
  assert.deepEqual(complete(['ebpfmon', 'start', '-c', 'config/monitor_con']), ['config/monitor_config.yaml']);
  assert.deepEqual(complete(['ebpfmon', 'analyze', 'confi']), ['config'], 'analyze [dir]: directories');
  assert.deepEqual(complete(['ebpfmon', 'help', 'an']), ['analyze']);
  assert.deepEqual(complete(['ebpfmon', 'start', '--duration', '']), [], 'free text: nothing offered');
});

test('a command the generator has not seen (variadic argument, short and long options, choices, an alias) gives valid output', () => {
  const program = new Command('ebpfmon').description('test: a program').version('9.9.9', '-V, --version', 'print the version');
  program
    .command('run')
    .alias('exec-run')
    .description("run a command under the monitors: it's [traced] until it exits")
    .argument('<command...>', 'the command and its arguments')
    .option('-p, --pid <pid>', 'only this process')
    .option('--comm <name>', 'only threads named this')
    .addOption(new Option('--mode <mode>', 'how').choices(['a', 'b']).default('a'))
    .option('--out <dir>', 'where')
    .addHelpText('after', '\nExamples:\n  .starts with a dot\n  back\\slash');
  const p = describeProgram(program);
  const dir = mkdtempSync(path.join(tmpdir(), 'ebpfmon-cli-docs-'));
  const files = { man: manPage(p), bash: bashCompletion(p), zsh: zshCompletion(p) };
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const groff = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-P-cbou', path.join(dir, 'man')], { encoding: 'utf8' });
  assert.equal(groff.stderr, '');
  assert.match(groff.stdout, /\.starts with a dot\n\s+back\\slash/, 'a leading dot and a backslash print as written');
  assert.match(groff.stdout, /-p, --pid pid/);
  for (const shell of ['bash', 'zsh']) assert.equal(spawnSync(shell, ['-n', path.join(dir, shell)]).status, 0, shell);
  assert.match(files.zsh, /'\*:command: '/, 'a variadic argument takes the remaining words');
  assert.match(files.zsh, /'--mode=\[how\]:mode:\(a b\)'/);
  assert.ok(files.zsh.includes(`'run:run a command under the monitors: it'\\''s [traced] until it exits'`), "a quote in a command's description closes and reopens the quoting");
  assert.match(files.bash, /^ {4}run\|exec-run\)$/m);
  assert.match(files.bash, /--out\) COMPREPLY=\(\$\(compgen -d/);
});
