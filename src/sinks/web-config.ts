// --web.config.file / output.prometheus.web_config_file: TLS and basic auth for the exporter, in the format of
// Prometheus' exporter-toolkit (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md),
// so one file serves node_exporter and ebpfmon. ebpfmon reads the part most exporters use:
//   tls_server_config: {cert_file, key_file}     (paths relative to the web config file)
//   basic_auth_users: {user: bcrypt hash}         ($2a$, $2b$, $2y$; e.g. htpasswd -nbBC 10 user password)
// Any other key is refused with one line naming it, rather than ignored: a setting that silently did nothing
// (client_auth_type, a cipher list) would leave the operator believing the exporter is protected when it is not.
import { createHash } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { errnoOf, UsageError } from '../errors.js';
import { bcryptHash, bcryptVerify, parseHash, piFraction } from './bcrypt.js';

const schema = z.strictObject({
  tls_server_config: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
  basic_auth_users: z.record(z.string().min(1).regex(/^[^:]*$/, { error: 'a user name holds no ":"' }), z.string()).optional(),
});

export interface WebConfig {
  /** PEM certificate chain and key; null: plain HTTP. */
  tls: { cert: Buffer; key: Buffer } | null;
  /** User -> bcrypt hash; empty: no authentication. */
  users: ReadonlyMap<string, string>;
}

const supported = 'tls_server_config.cert_file, tls_server_config.key_file, basic_auth_users';

/** Reads and checks a web config file: certificate and key readable and a pair, every hash a bcrypt hash ebpfmon checks. */
export async function loadWebConfig(file: string): Promise<WebConfig> {
  const fail = (what: string): never => {
    throw new UsageError(`web config ${file}: ${what}`);
  };
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    fail(`cannot read it (${errnoOf(e) ?? String(e)})`);
  }
  let doc: unknown;
  try {
    doc = parse(text) ?? {};
  } catch (e) {
    fail(`not YAML: ${(e as Error).message.split('\n')[0] ?? ''}`);
  }
  const r = schema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const at = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      fail(`${issue.keys.map((k) => (at ? `${at}.${k}` : k)).join(', ')}: not supported by ebpfmon (it reads ${supported})`);
    }
    fail(`${at || 'the file'}: ${issue.message}`);
  }
  const conf = r.success ? r.data : {};
  const dir = path.dirname(path.resolve(file));
  let tls: WebConfig['tls'] = null;
  if (conf.tls_server_config) {
    const read = async (key: 'cert_file' | 'key_file'): Promise<Buffer> => {
      const p = path.resolve(dir, conf.tls_server_config![key]);
      try {
        return await readFile(p);
      } catch (e) {
        return fail(`tls_server_config.${key} ${p}: cannot read it (${errnoOf(e) ?? String(e)})`);
      }
    };
    tls = { cert: await read('cert_file'), key: await read('key_file') };
    try {
      createSecureContext({ cert: tls.cert, key: tls.key });
    } catch (e) {
      fail(`tls_server_config: the certificate and key do not make a TLS server (${(e as Error).message})`);
    }
  }
  const users = new Map(Object.entries(conf.basic_auth_users ?? {}));
  for (const [user, hash] of users) {
    const h = parseHash(hash);
    if ('error' in h) fail(`basic_auth_users.${user}: ${h.error}`);
  }
  // Blowfish's initial state (the digits of pi) is computed now, not on the first scrape.
  if (users.size) piFraction();
  return { tls, users };
}

/** Successful checks remembered (a bcrypt check of cost 10 takes about 0.1-0.2 s of CPU; Prometheus scrapes every 15 s). */
export const authCacheEntries = 64;

/**
 * A checker of Authorization headers against basic_auth_users. A user not in the file costs a check too (against
 * a hash of the same cost), so that timing does not tell which users exist; the hash is compared in constant time.
 * Successful (user, password) pairs are remembered by a SHA-256 digest, never in the clear.
 */
export function basicAuth(users: ReadonlyMap<string, string>): (authorization: string | undefined) => boolean {
  const cache = new Set<string>();
  const cost = Math.max(4, ...[...users.values()].map((h) => { const p = parseHash(h); return 'error' in p ? 4 : p.cost; }));
  const decoy = bcryptHash('decoy', `$2b$${String(cost).padStart(2, '0')}$abcdefghijklmnopqrstuu`) ?? '';
  return (authorization) => {
    const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(authorization?.trim() ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = users.get(user);
    const digest = createHash('sha256').update(`${user}\u0000${password}\u0000${hash ?? ''}`).digest('hex');
    if (hash !== undefined && cache.has(digest)) return true;
    const ok = bcryptVerify(password, hash ?? decoy) && hash !== undefined;
    if (ok) {
      if (cache.size >= authCacheEntries) cache.clear();
      cache.add(digest);
    }
    return ok;
  };
}
