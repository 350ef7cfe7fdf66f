import { InputError } from '@fstools/fstree';
import { describe, expect, it } from 'vitest';
import { buildTime, parseSeconds, parseSize, parseWhole } from '../src/index.js';

describe('parseWhole', () => {
  it('reads decimal digits within the range', () => {
    expect(parseWhole('0', '-N')).toBe(0);
    expect(parseWhole('4096', '-b')).toBe(4096);
    expect(parseWhole('4294967295', '--force-uid', 0, 0xffffffff)).toBe(0xffffffff);
    expect(parseWhole('1', '--memory', 1)).toBe(1);
  });

  it('refuses anything else, quoting the text as typed', () => {
    for (const bad of ['', 'abc', '-1', '1.5', '1e3', '0x10', ' 1', '4k', '9007199254740993']) expect(() => parseWhole(bad, '-N'), bad).toThrow(InputError);
    expect(() => parseWhole('many', '-N')).toThrow(`-N: 'many' is not a whole number`);
    expect(() => parseWhole('4294967296', '--force-uid', 0, 0xffffffff)).toThrow(`--force-uid: '4294967296' is not a whole number from 0 to 4294967295`);
    expect(() => parseWhole('0', '--memory', 1)).toThrow(`--memory: '0' is not a whole number from 1 up`);
  });
});

describe('parseSize', () => {
  it('reads suffixes as powers of 1024 (and s as 512-byte sectors), in any case', () => {
    expect(parseSize('4096', '--chunksize')).toBe(4096);
    expect(parseSize('64k', 'SIZE')).toBe(64 << 10);
    expect(parseSize('64K', 'SIZE')).toBe(64 << 10);
    expect(parseSize('3M', 'SIZE')).toBe(3 << 20);
    expect(parseSize('2G', 'SIZE')).toBe(2 * 2 ** 30);
    expect(parseSize('1T', 'SIZE')).toBe(2 ** 40);
    expect(parseSize('1p', 'SIZE')).toBe(2 ** 50);
    expect(parseSize('8s', 'SIZE')).toBe(4096);
    expect(parseSize(' 12M ', 'SIZE')).toBe(12 << 20);
  });

  it('counts a bare number in bareUnit bytes; suffixes ignore it', () => {
    expect(parseSize('100', 'SIZE', 1024)).toBe(102400);
    expect(parseSize('100', 'SIZE', 4096)).toBe(409600);
    expect(parseSize('1M', 'SIZE', 4096)).toBe(1 << 20);
  });

  it('refuses what is not a positive safe integer, naming the option', () => {
    for (const bad of ['', 'K', '12Q', '1.5M', '-1', '0', '0K', '1 M', '0x10', '99999999999P']) {
      expect(() => parseSize(bad, '--chunksize'), bad).toThrow(InputError);
    }
    expect(() => parseSize('12Q', '--chunksize')).toThrow(`--chunksize: '12Q' is not a size (a positive number with an optional K, M, G, T, P or s suffix)`);
  });
});

describe('parseSeconds', () => {
  it('takes decimal digits only', () => {
    expect(parseSeconds('0')).toBe(0n);
    expect(parseSeconds('1700000000')).toBe(1700000000n);
    expect(parseSeconds('18446744073709551615')).toBe(2n ** 64n - 1n);
    for (const bad of ['', ' 1', '1.5', '-1', '1e9', 'small', '0x10']) expect(parseSeconds(bad), bad).toBeUndefined();
  });
});

describe('buildTime', () => {
  it('-T wins over SOURCE_DATE_EPOCH', () => {
    expect(buildTime('1700000000', { SOURCE_DATE_EPOCH: '1500000000' })).toBe(1700000000n);
    expect(buildTime('0', {})).toBe(0n);
  });

  it('falls back to SOURCE_DATE_EPOCH; unset or empty means no build time', () => {
    expect(buildTime(undefined, { SOURCE_DATE_EPOCH: '1500000000' })).toBe(1500000000n);
    expect(buildTime(undefined, { SOURCE_DATE_EPOCH: '' })).toBeUndefined();
    expect(buildTime(undefined, {})).toBeUndefined();
  });

  it('names the bad source', () => {
    expect(() => buildTime('yesterday', {})).toThrow(`-T: 'yesterday' is not a whole number of seconds`);
    expect(() => buildTime('', {})).toThrow(`-T: '' is not a whole number of seconds`);
    expect(() => buildTime('-5', { SOURCE_DATE_EPOCH: '1' })).toThrow(InputError);
    expect(() => buildTime(undefined, { SOURCE_DATE_EPOCH: 'soon' })).toThrow(`SOURCE_DATE_EPOCH: 'soon' is not a whole number of seconds`);
  });

  it('reads process.env by default', () => {
    const saved = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = '1234';
    try {
      expect(buildTime(undefined)).toBe(1234n);
    } finally {
      if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = saved;
    }
  });
});
