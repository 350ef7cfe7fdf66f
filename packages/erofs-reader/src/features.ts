import * as C from './constants.js';

const compat: Array<[number, string]> = [
  [C.EROFS_FEATURE_COMPAT_SB_CHKSUM, 'sb_csum'],
  [C.EROFS_FEATURE_COMPAT_MTIME, 'mtime'],
  [C.EROFS_FEATURE_COMPAT_XATTR_FILTER, 'xattr_filter'],
  [C.EROFS_FEATURE_COMPAT_SHARED_EA_IN_METABOX, 'shared_ea_in_metabox'],
  [C.EROFS_FEATURE_COMPAT_PLAIN_XATTR_PFX, 'plain_xattr_pfx'],
];
const incompat: Array<[number, string]> = [
  [C.EROFS_FEATURE_INCOMPAT_ZERO_PADDING, '0padding'],
  [C.EROFS_FEATURE_INCOMPAT_BIG_PCLUSTER, 'big_pcluster/compr_cfgs'],
  [C.EROFS_FEATURE_INCOMPAT_CHUNKED_FILE, 'chunked_file'],
  [C.EROFS_FEATURE_INCOMPAT_DEVICE_TABLE, 'device_table/compr_head2'],
  [C.EROFS_FEATURE_INCOMPAT_ZTAILPACKING, 'ztailpacking'],
  [C.EROFS_FEATURE_INCOMPAT_FRAGMENTS, 'fragments/dedupe'],
  [C.EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES, 'xattr_prefixes'],
  [C.EROFS_FEATURE_INCOMPAT_48BIT, '48bit'],
  [C.EROFS_FEATURE_INCOMPAT_METABOX, 'metabox'],
];

/** Names of the feature bits set in a superblock's compat and incompat words (unknown bits in hex). */
export function featureNames(feature_compat: number, feature_incompat: number): { compat: string[]; incompat: string[] } {
  return { compat: names(feature_compat, compat), incompat: names(feature_incompat, incompat) };
}

function names(word: number, table: Array<[number, string]>): string[] {
  const out = table.filter(([bit]) => word & bit).map(([, n]) => n);
  const unknown = table.reduce((w, [bit]) => w & ~bit, word);
  if (unknown) out.push(`0x${(unknown >>> 0).toString(16)}`);
  return out;
}
