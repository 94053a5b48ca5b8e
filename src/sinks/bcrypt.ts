// bcrypt verification ($2a$, $2b$, $2y$), for the exporter's basic_auth_users (Prometheus exporter-toolkit's web
// config stores bcrypt hashes). Node's crypto has no bcrypt and ebpfmon adds no dependency, so this is eksblowfish
// as Provos and Mazieres describe it (OpenBSD's bcrypt.c): Blowfish's state initialised with the hexadecimal digits
// of pi, the expensive key setup 2^cost times, then "OrpheanBeholderScryDoubt" enciphered 64 times. It only checks
// a password against a hash: no hashing of new passwords (operators use htpasswd -B or similar).
// The digits of pi are computed once, on first use (Machin's formula with BigInt: a few ms), not written out.
import { timingSafeEqual } from 'node:crypto';

/** 18 P-array words, then 4 x 256 S-box words: the first 8336 hex digits of pi's fraction. */
const piWords = 18 + 4 * 256;
let piCache: Uint32Array | null = null;

/** pi's fractional hex digits as 32-bit words, from pi = 16 atan(1/5) - 4 atan(1/239). */
export function piFraction(): Uint32Array {
  if (piCache) return piCache;
  const bits = BigInt(piWords * 32 + 64);
  const one = 1n << bits;
  const atanInv = (x: bigint): bigint => {
    let sum = 0n;
    let term = one / x;
    const x2 = x * x;
    for (let k = 1n, sign = 1n; term !== 0n; k += 2n, sign = -sign, term /= x2) sum += (sign * term) / k;
    return sum;
  };
  const pi = 16n * atanInv(5n) - 4n * atanInv(239n);
  // Drop the integer part (3) and the guard bits.
  const frac = (pi - 3n * one) >> 64n;
  const out = new Uint32Array(piWords);
  for (let i = 0; i < piWords; i++) out[i] = Number((frac >> BigInt((piWords - 1 - i) * 32)) & 0xffffffffn);
  piCache = out;
  return out;
}

interface State {
  p: Uint32Array;
  s: Uint32Array;
}

function f(s: Uint32Array, x: number): number {
  return ((((s[x >>> 24]! + s[256 + ((x >>> 16) & 0xff)]!) | 0) ^ s[512 + ((x >>> 8) & 0xff)]!) + s[768 + (x & 0xff)]!) | 0;
}

/** Enciphers lr[i], lr[i+1] in place. */
function encipher(st: State, lr: Uint32Array | Int32Array, i: number): void {
  const { p, s } = st;
  let l = lr[i]! ^ p[0]!;
  let r = lr[i + 1]!;
  for (let k = 1; k <= 16; k += 2) {
    r ^= f(s, l) ^ p[k]!;
    l ^= f(s, r) ^ p[k + 1]!;
  }
  lr[i] = r ^ p[17]!;
  lr[i + 1] = l;
}

/** The next 32-bit word of `data`, cyclically (Blowfish_stream2word). */
function streamWord(data: Uint8Array, pos: { at: number }): number {
  let w = 0;
  for (let i = 0; i < 4; i++) {
    w = (w << 8) | data[pos.at]!;
    pos.at = (pos.at + 1) % data.length;
  }
  return w;
}

/** Blowfish_expandstate / expand0state: the key into P, then P and S re-enciphered (salted when `salt` is given). */
function expand(st: State, key: Uint8Array, salt: Uint8Array | null): void {
  const kp = { at: 0 };
  for (let i = 0; i < 18; i++) st.p[i] = st.p[i]! ^ streamWord(key, kp);
  const sp = { at: 0 };
  const lr = new Uint32Array(2);
  const next = (): void => {
    if (salt) {
      lr[0] = lr[0]! ^ streamWord(salt, sp);
      lr[1] = lr[1]! ^ streamWord(salt, sp);
    }
    encipher(st, lr, 0);
  };
  for (let i = 0; i < 18; i += 2) {
    next();
    st.p[i] = lr[0]!;
    st.p[i + 1] = lr[1]!;
  }
  for (let i = 0; i < 1024; i += 2) {
    next();
    st.s[i] = lr[0]!;
    st.s[i + 1] = lr[1]!;
  }
}

const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** bcrypt's own base64 (its alphabet, no padding): `n` bytes. */
function decode64(text: string, n: number): Uint8Array | null {
  const out = new Uint8Array(n);
  let o = 0;
  const v = [...text].map((c) => alphabet.indexOf(c));
  if (v.some((x) => x < 0)) return null;
  for (let i = 0; o < n; i += 4) {
    const [a = 0, b = 0, c = 0, d = 0] = v.slice(i, i + 4);
    out[o++] = (a << 2) | (b >> 4);
    if (o < n) out[o++] = ((b & 15) << 4) | (c >> 2);
    if (o < n) out[o++] = ((c & 3) << 6) | d;
  }
  return out;
}

function encode64(data: Uint8Array): string {
  let out = '';
  for (let i = 0; i < data.length; i += 3) {
    const a = data[i]!;
    const b = data[i + 1];
    const c = data[i + 2];
    out += alphabet[a >> 2]! + alphabet[((a & 3) << 4) | ((b ?? 0) >> 4)]!;
    if (b === undefined) break;
    out += alphabet[((b & 15) << 2) | ((c ?? 0) >> 6)]!;
    if (c === undefined) break;
    out += alphabet[c & 63]!;
  }
  return out;
}

/** $2a$, $2b$ or $2y$, a two-digit cost, 22 characters of salt, 31 of hash. */
const hashFormat = /^\$2([aby])\$(\d\d)\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/;
/** Costs allowed: 4 (the minimum) to 31; past maxCost one check takes too long to serve a scrape. */
export const minCost = 4;
export const maxCost = 16;

export interface ParsedHash {
  cost: number;
}

/** The hash's cost, or why it is no bcrypt hash this module checks. */
export function parseHash(hash: string): ParsedHash | { error: string } {
  const m = hashFormat.exec(hash);
  if (!m) return { error: 'not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters of salt and hash)' };
  const cost = Number(m[2]);
  if (cost < minCost || cost > maxCost) return { error: `bcrypt cost ${cost}: expected ${minCost} to ${maxCost} (each step doubles the time of a check)` };
  return { cost };
}

/** The bcrypt hash of `password` with the version, cost and salt of `setting` (`$2b$10$` + 22 salt characters). */
export function bcryptHash(password: string, setting: string): string | null {
  const m = /^\$2([aby])\$(\d\d)\$([./A-Za-z0-9]{22})/.exec(setting);
  if (!m) return null;
  const cost = Number(m[2]);
  if (cost < minCost || cost > 31) return null;
  const salt = decode64(m[3]!, 16);
  if (!salt) return null;
  // The key: the password's bytes and its NUL, at most 72 bytes ($2b$ and $2y$ fixed $2a$'s wrap past 255 bytes;
  // only 72 count either way).
  const pw = Buffer.from(password, 'utf8');
  const key = new Uint8Array(Math.min(pw.length + 1, 72));
  key.set(pw.subarray(0, key.length));
  const pi = piFraction();
  const st: State = { p: pi.slice(0, 18), s: pi.slice(18) };
  expand(st, key, salt);
  for (let i = 0, rounds = 2 ** cost; i < rounds; i++) {
    expand(st, key, null);
    expand(st, salt, null);
  }
  const text = Buffer.from('OrpheanBeholderScryDoubt', 'latin1');
  const words = new Uint32Array(6);
  for (let i = 0; i < 6; i++) words[i] = text.readUInt32BE(i * 4);
  for (let k = 0; k < 64; k++) for (let i = 0; i < 6; i += 2) encipher(st, words, i);
  const out = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) out.writeUInt32BE(words[i]!, i * 4);
  // The salt's 22 characters again: the last one carries 4 bits only, re-encoded as the hash writers do.
  return `$2${m[1]!}$${m[2]!}$${encode64(salt).slice(0, 22)}${encode64(out.subarray(0, 23))}`;
}

/** Whether `password` matches `hash`, comparing in constant time. */
export function bcryptVerify(password: string, hash: string): boolean {
  if ('error' in parseHash(hash)) return false;
  const got = bcryptHash(password, hash);
  if (got === null) return false;
  const a = Buffer.from(got);
  const b = Buffer.from(hash);
  return a.length === b.length && timingSafeEqual(a, b);
}
