import {
  EXT4_FEATURE_COMPAT_DIR_INDEX,
  EXT4_FEATURE_COMPAT_EXT_ATTR,
  EXT4_FEATURE_COMPAT_HAS_JOURNAL,
  EXT4_FEATURE_COMPAT_RESIZE_INODE,
  EXT4_FEATURE_INCOMPAT_64BIT,
  EXT4_FEATURE_INCOMPAT_CSUM_SEED,
  EXT4_FEATURE_INCOMPAT_EXTENTS,
  EXT4_FEATURE_INCOMPAT_FILETYPE,
  EXT4_FEATURE_INCOMPAT_FLEX_BG,
  EXT4_FEATURE_INCOMPAT_META_BG,
  EXT4_FEATURE_RO_COMPAT_DIR_NLINK,
  EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE,
  EXT4_FEATURE_RO_COMPAT_HUGE_FILE,
  EXT4_FEATURE_RO_COMPAT_LARGE_FILE,
  EXT4_FEATURE_RO_COMPAT_METADATA_CSUM,
  EXT4_FEATURE_RO_COMPAT_SPARSE_SUPER,
} from './constants.js';
import { OptionError } from './errors.js';

type Word = 'compat' | 'incompat' | 'ro_compat';

/** Every feature this writer can produce, by its e2fsprogs name, with its superblock bit. */
const FEATURE_BITS = {
  has_journal: ['compat', EXT4_FEATURE_COMPAT_HAS_JOURNAL],
  ext_attr: ['compat', EXT4_FEATURE_COMPAT_EXT_ATTR],
  resize_inode: ['compat', EXT4_FEATURE_COMPAT_RESIZE_INODE],
  dir_index: ['compat', EXT4_FEATURE_COMPAT_DIR_INDEX],
  filetype: ['incompat', EXT4_FEATURE_INCOMPAT_FILETYPE],
  meta_bg: ['incompat', EXT4_FEATURE_INCOMPAT_META_BG],
  extent: ['incompat', EXT4_FEATURE_INCOMPAT_EXTENTS],
  '64bit': ['incompat', EXT4_FEATURE_INCOMPAT_64BIT],
  flex_bg: ['incompat', EXT4_FEATURE_INCOMPAT_FLEX_BG],
  metadata_csum_seed: ['incompat', EXT4_FEATURE_INCOMPAT_CSUM_SEED],
  sparse_super: ['ro_compat', EXT4_FEATURE_RO_COMPAT_SPARSE_SUPER],
  large_file: ['ro_compat', EXT4_FEATURE_RO_COMPAT_LARGE_FILE],
  huge_file: ['ro_compat', EXT4_FEATURE_RO_COMPAT_HUGE_FILE],
  dir_nlink: ['ro_compat', EXT4_FEATURE_RO_COMPAT_DIR_NLINK],
  extra_isize: ['ro_compat', EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE],
  metadata_csum: ['ro_compat', EXT4_FEATURE_RO_COMPAT_METADATA_CSUM],
} as const satisfies Record<string, readonly [Word, number]>;

export type Feature = keyof typeof FEATURE_BITS;

/** e2fsprogs spellings that name the same feature. */
const ALIASES: Record<string, Feature> = { extents: 'extent', csum_seed: 'metadata_csum_seed' };

/** Features e2fsprogs knows that this writer does not produce (asking for one is an error). */
const UNSUPPORTED = new Set([
  'uninit_bg', 'gdt_csum', 'bigalloc', 'inline_data', 'encrypt', 'casefold', 'fname_encoding',
  'project', 'quota', 'orphan_file', 'orphan_present', 'large_dir', 'largedir', 'ea_inode', 'mmp',
  'sparse_super2', 'journal_dev', 'fast_commit', 'stable_inodes', 'verity', 'dir_prealloc',
  'imagic_inodes', 'compression', 'snapshot_bitmap', 'needs_recovery',
  'lazy_bg', 'exclude_bitmap', 'exclude_inode', 'replica', 'shared_blocks', 'read-only',
]);

export type FsType = 'ext2' | 'ext3' | 'ext4';

/** mke2fs.conf [defaults] base_features, then each fs_types entry's features (e2fsprogs 1.47). */
const BASE: Feature[] = ['sparse_super', 'large_file', 'filetype', 'resize_inode', 'dir_index', 'ext_attr'];
const BY_TYPE: Record<FsType, Feature[]> = {
  ext2: [],
  ext3: ['has_journal'],
  // As mke2fs 1.47.2's ext4 (metadata_csum_seed included); orphan_file is not written.
  ext4: ['has_journal', 'extent', 'huge_file', 'flex_bg', 'metadata_csum', 'metadata_csum_seed', '64bit', 'dir_nlink', 'extra_isize'],
};

/** The features asked for: the defaults of the fs type edited by -O, remembering which were explicit. */
export interface FeatureRequest {
  enabled: Set<Feature>;
  /** Features the user named in -O (on or off): their state must not be changed implicitly. */
  explicit: Set<Feature>;
}

/** Applies -O lists ("a,^b,none", mke2fs syntax) to the defaults of `type`. */
export function requestFeatures(type: FsType, edits: readonly string[]): FeatureRequest {
  const enabled = new Set<Feature>([...BASE, ...BY_TYPE[type]]);
  const explicit = new Set<Feature>();
  for (const list of edits) {
    for (const raw of list.split(',')) {
      const word = raw.trim();
      if (word === '') continue;
      if (word === 'none' || word === 'clear') {
        for (const f of enabled) explicit.add(f);
        enabled.clear();
        continue;
      }
      const off = word.startsWith('^') || word.startsWith('-');
      const name = off || word.startsWith('+') ? word.slice(1) : word;
      const feature = featureByName(name);
      explicit.add(feature);
      if (off) enabled.delete(feature);
      else enabled.add(feature);
    }
  }
  return { enabled, explicit };
}

function featureByName(name: string): Feature {
  const lower = name.toLowerCase();
  if (lower in FEATURE_BITS) return lower as Feature;
  const alias = ALIASES[lower];
  if (alias) return alias;
  if (UNSUPPORTED.has(lower)) throw new OptionError(`feature '${name}' is not supported by mkext4-ts`);
  throw new OptionError(`unknown filesystem feature '${name}'`);
}

/**
 * Turns a default-on feature off because another choice needs it off, or fails when the user asked
 * for it explicitly: `why` explains the conflict.
 */
export function dropFeature(req: FeatureRequest, feature: Feature, why: string): void {
  if (!req.enabled.has(feature)) return;
  if (req.explicit.has(feature)) throw new OptionError(`contradictory features: ${why}`);
  req.enabled.delete(feature);
}

/**
 * Resolves dependencies between features the way mke2fs does, except that a default feature that
 * depends on one the user switched off is dropped instead of failing (so `-O ^extent` alone gives a
 * valid 32-bit filesystem). Explicit contradictions are errors.
 */
export function checkFeatureDependencies(req: FeatureRequest): void {
  const on = (f: Feature): boolean => req.enabled.has(f);
  if (!on('metadata_csum')) dropFeature(req, 'metadata_csum_seed', 'metadata_csum_seed requires metadata_csum');
  if (!on('extent')) dropFeature(req, '64bit', '64bit requires extent');
  if (!on('sparse_super')) dropFeature(req, 'resize_inode', 'resize_inode requires sparse_super');
  if (on('meta_bg')) dropFeature(req, 'resize_inode', 'resize_inode and meta_bg cannot both be enabled');
}

/** The three superblock feature words of a feature set. */
export function featureWords(features: ReadonlySet<Feature>): Record<Word, number> {
  const words: Record<Word, number> = { compat: 0, incompat: 0, ro_compat: 0 };
  for (const f of features) {
    const [word, bit] = FEATURE_BITS[f];
    words[word] |= bit;
  }
  return words;
}

/** Feature names in the order dumpe2fs prints them (compat, incompat, ro_compat; by bit). */
export function featureNames(features: ReadonlySet<Feature>): Feature[] {
  const order: Word[] = ['compat', 'incompat', 'ro_compat'];
  return [...features].sort((a, b) => {
    const [wa, ba] = FEATURE_BITS[a];
    const [wb, bb] = FEATURE_BITS[b];
    return order.indexOf(wa) - order.indexOf(wb) || ba - bb;
  });
}
