// Text from bpftrace -> the bytes the kernel had -> valid UTF-8 for every sink.
// bpftrace 0.17's JSON writer escapes a byte >= 0x80 through a signed char: é (0xc3 0xa9) arrives as
// \uffffffc3\uffffffa9, which a JSON parser reads as U+FFFF followed by the text "ffc3". The escape is reversible:
// U+FFFF never comes out of bpftrace otherwise (it would itself arrive as three escaped bytes).
// Names are bytes, not text: a process or file name need not be valid UTF-8. The output is UTF-8 with one escape,
// documented in docs/monitors.md ("Names and text"): a byte that is not part of valid UTF-8 becomes \xNN (two hex digits), and a backslash
// becomes \\, so the original bytes can always be recovered.

const hex = (b: number): string => `\\x${b.toString(16).padStart(2, '0')}`;

/** The bytes bpftrace printed, from a JSON-decoded string; null when the string needs no work (plain ASCII). */
function bytesOf(s: string): number[] | null {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return null;
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0xffff && /^ff[0-9a-f]{2}$/i.test(s.slice(i + 1, i + 5))) {
      out.push(parseInt(s.slice(i + 3, i + 5), 16));
      i += 4;
    } else if (c < 0x80) out.push(c);
    else {
      // Not bpftrace 0.17's escape (a later bpftrace writing UTF-8 itself): keep the character's own bytes.
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      out.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
export function utf8SequenceAt(b: readonly number[], i: number): number {
  const c = b[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => b[i + k] !== undefined && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** Bytes -> UTF-8 text: valid sequences as they are, other bytes as \xNN, a backslash as \\. */
export function textOfBytes(b: readonly number[]): string {
  let out = '';
  for (let i = 0; i < b.length; ) {
    const n = utf8SequenceAt(b, i);
    if (n === 0) {
      out += hex(b[i]!);
      i++;
    } else if (n === 1) {
      out += b[i] === 0x5c ? '\\\\' : String.fromCharCode(b[i]!);
      i++;
    } else {
      out += Buffer.from(b.slice(i, i + n)).toString('utf8');
      i += n;
    }
  }
  return out;
}

/** A decoded text value and how many bytes the kernel's string had (to tell a string str() may have cut). */
export interface Decoded {
  text: string;
  bytes: number;
}

/** A free-text field or key part as bpftrace printed it -> UTF-8 text (see the escape above). */
export function decodeText(s: string): Decoded {
  const b = bytesOf(s);
  return b === null ? { text: s, bytes: s.length } : { text: textOfBytes(b), bytes: b.length };
}

/**
 * A `%r` field (buf() printed by bpftrace 0.17): printable ASCII as it is, every other byte as \xNN. Trailing NULs
 * (comm is a fixed 16-byte array) are dropped; the bytes then take the same escape as free text.
 */
export function decodeHexBytes(s: string): string {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === 'x' && /^[0-9a-f]{2}$/i.test(s.slice(i + 2, i + 4))) {
      out.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else out.push(s.charCodeAt(i) & 0xff);
  }
  let end = out.indexOf(0);
  if (end < 0) end = out.length;
  return textOfBytes(out.slice(0, end));
}

/** The second JSON escape bpftrace 0.23 puts on a map key's text (\\t, \\", \\\\): removed, or the text as it is if it is not one. */
export function unescapeJson(s: string): string {
  if (!s.includes('\\')) return s;
  try {
    const v: unknown = JSON.parse(`"${s}"`);
    return typeof v === 'string' ? v : s;
  } catch {
    return s;
  }
}

/**
 * A text key part that bpftrace 0.24+ printed as a byte array (`[116,109,117,120,0,...]`, see src/bt/features.ts
 * textKeys): the bytes up to the first NUL, with the same escape as free text. Not such an array: read as text.
 */
export function decodeByteArray(s: string): Decoded {
  if (!s.startsWith('[') || !s.endsWith(']')) return decodeText(s);
  // Only the bytes before the NUL matter: a path's 176-byte array is mostly padding after it.
  const out: number[] = [];
  let n = 0;
  let digits = false;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      n = n * 10 + (c - 48);
      digits = true;
      continue;
    }
    if (!digits || n === 0) break;
    out.push(n & 0xff);
    n = 0;
    digits = false;
  }
  let plain = true;
  for (const b of out) if (b >= 0x80 || b === 0x5c) plain = false;
  return { text: plain ? String.fromCharCode(...out) : textOfBytes(out), bytes: out.length };
}

/**
 * What a string str() may have cut ends with: bpftrace reads at most BPFTRACE_STRLEN - 1 bytes and says nothing.
 * A single backslash before "…" is never produced by the escape above (a real backslash is always doubled), so
 * read left to right, no real name looks like a cut one.
 */
export const cutMarker = '\\…';
