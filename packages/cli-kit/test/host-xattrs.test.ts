import { describe, expect, it } from 'vitest';
import { hostXattrsUnavailable, InputError, readHostXattrs } from '@fstools/fstree';
import { hostXattrs, xattrsOff } from '../src/index.js';

describe('-x and host xattrs', () => {
  it('-x -1 turns them off; no -x leaves them on; any other value is refused', () => {
    expect(xattrsOff(undefined)).toBe(false);
    expect(xattrsOff('-1')).toBe(true);
    expect(xattrsOff(['2', '-1'])).toBe(true); // repeated: the last one counts
    expect(() => xattrsOff('2')).toThrow(new InputError('-x', "'2' is not supported: only -x -1 (leave out the source directory's xattrs)"));
    expect(() => xattrsOff('')).toThrow(InputError);
  });

  it('reports what a directory source gets: read, off, or unavailable with the reason', () => {
    expect(hostXattrs('tool', true, false)).toEqual({ status: 'off', reader: false });
    const why = hostXattrsUnavailable();
    if (why === undefined) expect(hostXattrs('tool', false, false)).toEqual({ status: 'read', reader: readHostXattrs });
    else expect(hostXattrs('tool', false, true)).toEqual({ status: `unavailable: ${why}`, reader: false });
  });
});
