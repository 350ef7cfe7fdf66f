import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ByteString } from '@fstools/fstree';
import { utf8 } from '@fstools/fstree';
import { defaultKitDir, parseGetfattr } from '@fstools/boot';
import { hasCommand, oracle } from '../../../test/helpers/oracles.js';

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

describe('parseGetfattr', () => {
  it('decodes octal escapes and "\\\\" in file and xattr names; other bytes stay raw', () => {
    const dump = [
      '# file: back\\134slash',
      'user.a\\134b=0x5c',
      'user.eq\\075ual=0x',
      '',
      '# file: libacl\\\\form\\\\134',
      `user.q"u'ote=0x22`,
      '',
      '# file: new\\012line\\015',
      'user.n\\012l=0x0a00ff',
      '',
      '# file: bad-\xff\\376-utf8 "x"',
      `user.caf${utf8('é')}=0xfffe`,
      'user.not\\9an\\escape\\777=0x01',
      '',
    ].join('\n');
    const got = parseGetfattr(dump);
    expect([...got.keys()]).toEqual(['back\\slash', 'libacl\\form\\134', 'new\nline\r', 'bad-\xff\xfe-utf8 "x"']);
    expect(got.get('back\\slash')).toEqual(new Map([['user.a\\b', bytes(0x5c)], ['user.eq=ual', bytes()]]));
    expect(got.get('libacl\\form\\134')).toEqual(new Map([[`user.q"u'ote`, bytes(0x22)]]));
    expect(got.get('new\nline\r')).toEqual(new Map([['user.n\nl', bytes(0x0a, 0, 0xff)]]));
    expect(got.get('bad-\xff\xfe-utf8 "x"')).toEqual(new Map([['user.café', bytes(0xff, 0xfe)], ['user.not\\9an\\escape\\777', bytes(1)]]));
  });
});

// What getfattr itself prints for awkward names and values: the host's, and the guest kit's.
const kit = defaultKitDir();
const kitLib = join(kit, 'guest/usr/lib/x86_64-linux-gnu');
const haveAttr = oracle('getfattr', hasCommand('getfattr') && hasCommand('setfattr'), 'apt-get install attr');
const getfattrs: Array<[string, string[]]> = haveAttr ? [['host getfattr', ['getfattr']]] : [];
if (haveAttr && existsSync(join(kit, 'guest/usr/bin/getfattr'))) getfattrs.push(['guest kit getfattr', [join(kitLib, 'ld-linux-x86-64.so.2'), '--library-path', kitLib, join(kit, 'guest/usr/bin/getfattr')]]);

const work = mkdtempSync(join(tmpdir(), 'boot-getfattr-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A shell word giving these exact bytes (every byte as a printf octal escape). */
const word = (s: ByteString): string => `"$(printf '${[...s].map((c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`).join('')}')"`;

describe.runIf(getfattrs.length > 0)('parseGetfattr on real getfattr output', () => {
  const files: Array<[ByteString, string, Uint8Array]> = [
    ['back\\slash', 'user.back\\slash', bytes(0x5c, 0x5c, 0x0a)],
    ['bs\\134x', 'user.bs\\134x', bytes(0x5c, 0x31, 0x33, 0x34)],
    [`q'uote "dq"`, `user.q'u"ote`, bytes(0x27, 0x22)],
    ['new\nline', 'user.new\nline', bytes(0x0a, 0x0d)],
    ['cr\r tab\t sp ace', 'user.eq=ual sp', bytes()],
    ['bad-\xff\xfe-utf8', 'user.café', bytes(0xff, 0xfe, 0x00, 0x80)],
  ];
  // setfattr -n undoes getfattr's \ooo escapes: a backslash in an xattr name goes in as \134.
  const script = files.map(([name, x, v]) => `: > ${word(name)} && setfattr -n ${word(utf8(x).replaceAll('\\', '\\134'))} ${v.length ? `-v 0x${Buffer.from(v).toString('hex')}` : ''} ${word(name)}`);
  const made = spawnSync('sh', ['-c', script.join(' &&\n')], { cwd: work, encoding: 'utf8' });

  it.each(getfattrs)('%s', (_, cmd) => {
    expect(made.stderr).toBe('');
    const r = spawnSync(cmd[0]!, [...cmd.slice(1), '-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '.'], { cwd: work });
    expect(r.status).toBe(0);
    const want = new Map(files.map(([name, x, v]) => [name, new Map([[x, v]])]));
    expect(parseGetfattr(r.stdout.toString('latin1'))).toEqual(want);
  });
});
