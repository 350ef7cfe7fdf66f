import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_HEADER, parseChallenges, RegistryError } from '@fstools/registry';

// WWW-Authenticate as registries send it (RFC 7235 challenges), and property tests: any text
// ends in challenges or a one-line RegistryError; generated headers parse back to their values.

const params = (c: { params: Record<string, string> }) => ({ ...c.params });

describe('WWW-Authenticate', () => {
  it('reads the token spec example and docker-registry headers', () => {
    const [c] = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"');
    expect(c!.scheme).toBe('bearer');
    expect(params(c!)).toEqual({ realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' });
    expect(parseChallenges('Basic realm="test-realm"').map(params)).toEqual([{ realm: 'test-realm' }]);
  });

  it('several challenges, token values, spaces, escapes, case and a token68', () => {
    const got = parseChallenges('Basic realm="a, b", BEARER  Realm = x.token , error="insufficient_scope",  scope="s\\"q", Negotiate abc+/=');
    expect(got.map((c) => c.scheme)).toEqual(['basic', 'bearer', 'negotiate']);
    expect(params(got[0]!)).toEqual({ realm: 'a, b' });
    expect(params(got[1]!)).toEqual({ realm: 'x.token', error: 'insufficient_scope', scope: 's"q' });
    expect(got[2]!.token68).toBe('abc+/=');
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges('Basic').map((c) => c.scheme)).toEqual(['basic']);
    // A bare word after the scheme is a token68 (RFC 7235), not a parameter.
    expect(parseChallenges('Bearer realm')[0]!.token68).toBe('realm');
    expect(parseChallenges('Basic, Bearer realm="r"').map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(params(parseChallenges('Bearer realm="r",realm="other"')[0]!)).toEqual({ realm: 'r' });
    expect(params(parseChallenges('Bearer __proto__="x",constructor=y')[0]!)).toEqual(Object.fromEntries([['__proto__', 'x'], ['constructor', 'y']]));
  });

  it.each([
    ['Bearer realm="unterminated', 'unterminated quoted string'],
    ['Bearer realm==x', 'expected a parameter value'],
    ['Bearer a=b c', 'expected a comma between parameters'],
    ['Bearer realm="a" service="b"', 'expected a comma between parameters'],
    ['="x"', 'expected an authentication scheme'],
    ['Bearer realm="a\u0001"', 'control character in a quoted string'],
    ['Bearer"realm"', 'expected a space after the scheme'],
  ])('refuses %j in one line', (header, problem) => {
    expect(() => parseChallenges(header)).toThrow(problem);
  });

  it('refuses a header longer than MAX_HEADER', () => {
    expect(() => parseChallenges(`Bearer realm="${'x'.repeat(MAX_HEADER)}"`)).toThrow(`longer than ${MAX_HEADER} characters`);
  });
});

const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const quotedText = fc.string({ maxLength: 20, unit: fc.constantFrom(...' \tabcAZ09,;=/:"\\'.split('')) });
const challenge = fc.record({
  scheme: fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,8}$/),
  params: fc.uniqueArray(fc.tuple(token, fc.oneof(token, quotedText), fc.boolean()), { selector: ([k]) => k.toLowerCase(), maxLength: 4 }),
});

function render(c: { scheme: string; params: [string, string, boolean][] }): string {
  const ps = c.params.map(([k, v, quote]) => `${k}=${quote || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(v) ? `"${v.replace(/(["\\])/g, '\\$1')}"` : v}`);
  return ps.length ? `${c.scheme} ${ps.join(', ')}` : c.scheme;
}

describe('properties', () => {
  it('generated headers parse back to their schemes and parameters', () => {
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 3 }), (cs) => {
        const got = parseChallenges(cs.map(render).join(', '));
        expect(got.map((c) => c.scheme)).toEqual(cs.map((c) => c.scheme.toLowerCase()));
        got.forEach((c, i) => expect(params(c)).toEqual(Object.fromEntries(cs[i]!.params.map(([k, v]) => [k.toLowerCase(), v]))));
      }),
      { numRuns: 1000 },
    );
  });

  it('random and mutated headers end in challenges or a one-line RegistryError', () => {
    const mutated = fc.tuple(fc.array(challenge, { minLength: 1, maxLength: 3 }), fc.nat(), fc.string({ maxLength: 3, unit: 'binary' })).map(([cs, at, s]) => {
      const h = cs.map(render).join(', ');
      const i = at % (h.length + 1);
      return h.slice(0, i) + s + h.slice(i + 1);
    });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string({ unit: 'binary', maxLength: 200 })), (header) => {
        try {
          const got = parseChallenges(header);
          for (const c of got) expect(c.scheme).toMatch(/^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
        } catch (err) {
          expect(err).toBeInstanceOf(RegistryError);
          expect((err as Error).message).not.toMatch(/[\n\r]/);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
