import type { ByteString } from '@fstools/fstree';
import { compareBytes, displayName } from '@fstools/fstree';
import type { Dirent } from './dirent.js';
import type { ErofsErrorCode } from './errors.js';

/** One thing wrong with a directory's entries; `entry` is the one it concerns, if one. */
export interface DirProblem {
  code: ErofsErrorCode;
  detail: string;
  entry?: Dirent;
}

/**
 * What is wrong with the entries of directory `nid` (whose parent is `parent`), as fsck and the
 * tree walk both judge them: names strictly in byte order across the whole directory (the
 * kernel binary-searches them; so no name twice), exactly one "." (to `nid`) and one ".." (to
 * `parent`), no "/" or NUL in a name.
 */
export function dirProblems(dirents: readonly Dirent[], nid: number, parent: number): DirProblem[] {
  const problems: DirProblem[] = [];
  let prev: ByteString | undefined;
  let dot = 0;
  let dotdot = 0;
  for (const d of dirents) {
    if (prev !== undefined && compareBytes(prev, d.name) >= 0) problems.push({ code: 'DIR_ORDER', detail: `"${displayName(d.name)}" after "${displayName(prev)}": names not in byte order` });
    prev = d.name;
    if (d.name === '.' || d.name === '..') {
      const want = d.name === '.' ? nid : parent;
      if (d.name === '.') dot++;
      else dotdot++;
      if (d.nid !== want) problems.push({ code: 'BAD_DOT', detail: `"${d.name}" points to nid ${d.nid}, expected ${want}` });
    } else if (/[/\0]/.test(d.name)) problems.push({ code: 'BAD_DIRENT', detail: 'name contains "/" or NUL', entry: d });
  }
  if (dot !== 1 || dotdot !== 1) problems.push({ code: 'BAD_DOT', detail: `directory has ${dot} "." and ${dotdot} ".." entries, expected one each` });
  return problems;
}
