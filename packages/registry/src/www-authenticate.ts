import { RegistryError } from './errors.js';

/** One challenge of a WWW-Authenticate header: `Bearer realm="...",service="...",scope="..."`. */
export interface Challenge {
  /** Lowercased: `bearer`, `basic`. */
  scheme: string;
  /** Parameter names lowercased (a null-prototype object); the first of a repeated name wins. */
  params: Record<string, string>;
  /** The token68 form (`Negotiate abc==`), when the challenge has one instead of parameters. */
  token68?: string;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*(?=[ \t]*(?:,|$))/;
/** Longer values are refused, not parsed. */
export const MAX_HEADER = 16384;
const PARAM_AHEAD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]*=/;

/**
 * Parses a WWW-Authenticate value (RFC 7235 section 4.1; several headers arrive joined with
 * commas, as fetch's Headers gives them): a list of challenges, each a scheme and either
 * `name=value` parameters (tokens or quoted strings) or a token68. A malformed value is a
 * one-line RegistryError (kind 'protocol') naming `source`; nothing of the header is quoted.
 */
export function parseChallenges(header: string, source = 'WWW-Authenticate'): Challenge[] {
  let pos = 0;
  const n = header.length;
  if (n > MAX_HEADER) throw new RegistryError(source, 'protocol', `longer than ${MAX_HEADER} characters`);
  const fail = (problem: string): RegistryError => new RegistryError(source, 'protocol', `malformed challenge at character ${pos + 1}: ${problem}`);
  const skip = (set: RegExp): boolean => {
    const start = pos;
    while (pos < n && set.test(header[pos]!)) pos++;
    return pos > start;
  };
  const ows = () => skip(/[ \t]/);
  const listGap = () => skip(/[ \t,]/);
  const token = (): string => {
    const start = pos;
    while (pos < n && TCHAR.test(header[pos]!)) pos++;
    return header.slice(start, pos);
  };
  const quoted = (): string => {
    pos++; // the opening quote
    let out = '';
    while (pos < n) {
      const c = header[pos]!;
      if (c === '"') {
        pos++;
        return out;
      }
      if (c === '\\') {
        if (pos + 1 >= n) break;
        out += header[pos + 1];
        pos += 2;
        continue;
      }
      if (c !== '\t' && (c < ' ' || c === '\x7f')) throw fail('control character in a quoted string');
      out += c;
      pos++;
    }
    throw fail('unterminated quoted string');
  };

  const out: Challenge[] = [];
  listGap();
  while (pos < n) {
    const scheme = token();
    if (scheme === '') throw fail('expected an authentication scheme');
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: Object.create(null) as Record<string, string> };
    out.push(challenge);
    const spaced = ows();
    if (pos >= n) break;
    if (header[pos] === ',') {
      listGap();
      continue;
    }
    if (!spaced) throw fail('expected a space after the scheme');
    const t68 = TOKEN68.exec(header.slice(pos));
    if (t68) {
      challenge.token68 = t68[0];
      pos += t68[0].length;
      ows();
      listGap();
      continue;
    }
    // name=value, name=value, ... until the next challenge (a token not followed by '=').
    for (;;) {
      const name = token();
      if (name === '') throw fail('expected a parameter name');
      ows();
      if (header[pos] !== '=') throw fail('expected = after a parameter name');
      pos++;
      ows();
      const value = header[pos] === '"' ? quoted() : token();
      if (value === '' && header[pos - 1] !== '"') throw fail('expected a parameter value');
      const key = name.toLowerCase();
      if (!(key in challenge.params)) challenge.params[key] = value;
      ows();
      if (pos >= n) break;
      if (header[pos] !== ',') throw fail('expected a comma between parameters');
      listGap();
      if (pos >= n || !PARAM_AHEAD.test(header.slice(pos))) break;
    }
  }
  return out;
}
