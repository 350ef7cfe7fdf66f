import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authFilePaths, credentialResolver, findAuth, parseAuthFile, parseCreds, RegistryError, resolveCredentials } from '@fstools/registry';
import type { CredentialLookup } from '@fstools/registry';

// Credentials as skopeo finds them: --creds, --authfile / REGISTRY_AUTH_FILE alone, else
// ${XDG_RUNTIME_DIR}/containers/auth.json, ${XDG_CONFIG_HOME}/containers/auth.json and
// ~/.docker/config.json in that order; keys HOST, HOST:PORT, HOST/NS/REPO (most specific wins),
// docker's https://index.docker.io/v1/. Damaged files fail in one line that quotes no secret.

const SECRET = 'pa55:w0rd-with-colon';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const work = mkdtempSync(join(tmpdir(), 'registry-creds-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
function file(content: unknown, name = `auth-${n++}.json`): string {
  const path = join(work, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const who = (l: CredentialLookup) => (l.credentials ? `${l.credentials.username}:${l.credentials.password}` : undefined);

describe('--creds', () => {
  it('splits at the first colon', () => {
    const c = parseCreds(`bob:${SECRET}`);
    expect([c.username, c.password]).toEqual(['bob', SECRET]);
    expect(parseCreds('bob:').password).toBe('');
  });

  it.each([
    ['bob', 'expected USER:PASS'],
    [`:${SECRET}`, 'the username is empty'],
  ])('refuses %j without echoing it', (text, problem) => {
    try {
      parseCreds(text);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as Error).message).toContain(`--creds: ${problem}`);
      expect((err as Error).message).not.toContain(SECRET);
    }
  });

  it('wins over every file', () => {
    const authfile = file({ auths: { 'r.io': { auth: b64('file:pass') } } });
    expect(who(resolveCredentials({ creds: 'cli:pass', authfile }, { registry: 'r.io', repository: 'a' }))).toBe('cli:pass');
  });
});

describe('auth files', () => {
  it('are searched in skopeo order; --authfile and REGISTRY_AUTH_FILE stand alone', () => {
    const home = '/home/u';
    expect(authFilePaths({ env: { XDG_RUNTIME_DIR: '/run/user/1' }, home })).toEqual({
      paths: ['/run/user/1/containers/auth.json', '/home/u/.config/containers/auth.json', '/home/u/.docker/config.json'],
      explicit: false,
    });
    expect(authFilePaths({ env: { XDG_RUNTIME_DIR: '/r', XDG_CONFIG_HOME: '/cfg', DOCKER_CONFIG: '/dc' }, home }).paths).toEqual(['/r/containers/auth.json', '/cfg/containers/auth.json', '/dc/config.json']);
    expect(authFilePaths({ authfile: '/a.json', env: { REGISTRY_AUTH_FILE: '/b.json' }, home })).toEqual({ paths: ['/a.json'], explicit: true });
    expect(authFilePaths({ env: { REGISTRY_AUTH_FILE: '/b.json' }, home })).toEqual({ paths: ['/b.json'], explicit: true });
  });

  it('the first file with credentials for the repository wins', () => {
    const home = join(work, 'home');
    const runtime = join(work, 'runtime');
    file({ auths: { 'r.io': { auth: b64('docker:pass') }, 'only.docker.io': { auth: b64('d2:pass') } } }, 'home/.docker/config.json');
    file({ auths: { 'r.io': { auth: b64('runtime:pass') } } }, 'runtime/containers/auth.json');
    const env = { XDG_RUNTIME_DIR: runtime };
    const lookup = resolveCredentials({ env, home }, { registry: 'r.io', repository: 'a/b' });
    expect(who(lookup)).toBe('runtime:pass');
    expect(lookup.source).toBe(`${join(runtime, 'containers/auth.json')} (key r.io)`);
    expect(who(resolveCredentials({ env, home }, { registry: 'only.docker.io', repository: 'x' }))).toBe('d2:pass');
    // --authfile: the docker config is not read.
    const authfile = file({ auths: {} });
    expect(resolveCredentials({ authfile, env, home }, { registry: 'only.docker.io', repository: 'x' })).toEqual({});
    expect(who(resolveCredentials({ env: { REGISTRY_AUTH_FILE: file({ auths: { 'r.io': { auth: b64('env:pass') } } }) }, home }, { registry: 'r.io', repository: 'a' }))).toBe('env:pass');
    // No files at all: anonymous.
    expect(resolveCredentials({ env: {}, home: join(work, 'nobody') }, { registry: 'r.io', repository: 'a' })).toEqual({});
  });

  it('keys: the most specific repository key wins, then the host, host:port exactly, URL keys, docker.io aliases', () => {
    const f = parseAuthFile(
      JSON.stringify({
        auths: {
          'r.io': { auth: b64('host:p') },
          'r.io/team': { auth: b64('ns:p') },
          'r.io/team/app': { auth: b64('repo:p') },
          'r.io:5000': { auth: b64('port:p') },
          'https://index.docker.io/v1/': { auth: b64('hub:p') },
          'https://legacy.example/v1/': { auth: b64('legacy:p') },
          'fields.io': { username: 'field-user', password: SECRET },
          'nul.io': { auth: b64('nul:secret\0\0') },
          'nocolon.io': { auth: b64('no-colon-here') },
        },
      }),
      'auth.json',
    );
    const get = (registry: string, repository: string) => {
      const m = findAuth(f, registry, repository);
      return m && 'entry' in m ? `${m.entry.credentials.username}@${m.entry.key}` : m;
    };
    expect(get('r.io', 'team/app')).toBe('repo@r.io/team/app');
    expect(get('r.io', 'team/app/sub')).toBe('repo@r.io/team/app');
    expect(get('r.io', 'team/other')).toBe('ns@r.io/team');
    expect(get('r.io', 'solo')).toBe('host@r.io');
    expect(get('r.io:5000', 'team/app')).toBe('port@r.io:5000');
    expect(get('r.io:5001', 'x')).toBeUndefined();
    expect(get('docker.io', 'library/busybox')).toBe('hub@https://index.docker.io/v1/');
    expect(get('legacy.example', 'x')).toBe('legacy@https://legacy.example/v1/');
    expect(get('fields.io', 'x')).toBe('field-user@fields.io');
    expect((findAuth(f, 'nul.io', 'x') as { entry: { credentials: { password: string } } }).entry.credentials.password).toBe('secret');
    expect(get('nocolon.io', 'x')).toBeUndefined();
  });

  it('credential helpers are not run: a lookup that finds only them says so', () => {
    const authfile = file({ auths: { 'ecr.io': {} }, credHelpers: { 'gcr.io': 'gcloud' }, credsStore: 'desktop' });
    const gcr = resolveCredentials({ authfile }, { registry: 'gcr.io', repository: 'p/i' });
    expect(gcr.credentials).toBeUndefined();
    expect(gcr.unsupported).toBe(`${authfile} names the credential helper 'gcloud' (credHelpers) for gcr.io, and credential helpers are not supported: give --creds or an auth file with an "auths" entry`);
    expect(resolveCredentials({ authfile }, { registry: 'ecr.io', repository: 'x' }).unsupported).toContain("'desktop' (credsStore)");
  });

  it('a missing --authfile is an error; a damaged file is an error naming it, quoting no secret', () => {
    const missing = join(work, 'missing.json');
    const resolver = credentialResolver({ authfile: missing });
    expect(() => resolver('r.io', 'a')).toThrow(`--authfile ${missing}: cannot read the auth file: no such file or directory (ENOENT)`);
    expect(() => credentialResolver({ env: { REGISTRY_AUTH_FILE: missing } })('r.io', 'a')).toThrow(`REGISTRY_AUTH_FILE ${missing}`);
    const cases: [string, string][] = [
      [`{"auths": {"r.io": {"auth": "${b64(`u:${SECRET}`)}"}`, 'not valid JSON'],
      ['[1]', 'not a JSON object'],
      ['{"auths": []}', '"auths" is not a JSON object'],
      ['{"auths": {"r.io": "x"}}', 'auths["r.io"]: is not a JSON object'],
      [`{"auths": {"r.io": {"auth": "${b64(`u:${SECRET}`)}!"}}}`, 'auths["r.io"]: "auth" is not base64 (of user:password)'],
      [`{"auths": {"r.io": {"username": "u", "password": 5}}}`, 'auths["r.io"]: "username" and "password" must both be strings'],
    ];
    for (const [text, problem] of cases) {
      const path = file(text);
      expect(() => resolveCredentials({ authfile: path }, { registry: 'r.io', repository: 'a' })).toThrow(`${path}: ${problem}`);
    }
  });
});

describe('properties', () => {
  const entry = fc.oneof(
    fc.record({ auth: fc.constant(b64(`user:${SECRET}`)) }),
    fc.record({ username: fc.constant('user'), password: fc.constant(SECRET) }),
    fc.record({ auth: fc.string({ maxLength: 12 }), identitytoken: fc.string({ maxLength: 4 }) }, { requiredKeys: [] }),
  );
  const authJson = fc
    .record(
      {
        auths: fc.dictionary(fc.oneof(fc.constantFrom('r.io', 'r.io:5000', 'r.io/a', 'https://index.docker.io/v1/', '__proto__'), fc.string({ maxLength: 10 })), entry, { maxKeys: 4 }),
        credHelpers: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
        credsStore: fc.string({ maxLength: 6 }),
      },
      { requiredKeys: [] },
    )
    .map((o) => JSON.stringify(o));
  const damaged = fc.tuple(authJson, fc.nat(), fc.string({ maxLength: 3, unit: 'binary' }), fc.boolean()).map(([text, at, s, cut]) => {
    const i = at % (text.length + 1);
    return cut ? text.slice(0, i) : text.slice(0, i) + s + text.slice(i + 1);
  });

  it('auth files, whole or damaged, give credentials or a one-line error without the password', () => {
    fc.assert(
      fc.property(fc.oneof(authJson, damaged, fc.string({ unit: 'binary', maxLength: 100 })), fc.constantFrom('r.io', 'r.io:5000', 'docker.io'), (text, registry) => {
        try {
          const f = parseAuthFile(text, 'auth.json');
          const m = findAuth(f, registry, 'a/b');
          if (m && 'entry' in m) expect(typeof m.entry.credentials.password).toBe('string');
          expect(JSON.stringify([...f.auths.values()])).not.toContain(SECRET);
        } catch (err) {
          expect(err).toBeInstanceOf(RegistryError);
          const msg = (err as Error).message;
          expect(msg).not.toMatch(/[\n\r]/);
          expect(msg).not.toContain(SECRET);
          expect(msg).not.toContain(b64(`user:${SECRET}`));
          expect(msg.startsWith('auth.json: ')).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
