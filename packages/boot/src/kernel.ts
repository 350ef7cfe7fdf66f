import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { InputError } from '@fstools/fstree';

/** What the guest boots with: a kernel, modules in load order, and the guest userland. */
export interface GuestKit {
  kernel: string;
  /** Host paths of the modules to load, dependencies first (.ko, .ko.xz or .ko.gz). */
  modules: string[];
  /** Folder holding bin/busybox, usr/bin/getfattr and the libraries getfattr needs. */
  userland: string;
}

/** Modules every boot needs; their dependencies and soft dependencies come along. */
export const BOOT_MODULES = ['virtio_blk', 'erofs', 'overlay', 'ext4'];

export const FETCH_HINT = 'run tools/fetch-guest-kernel.sh';

/** Where tools/fetch-guest-kernel.sh puts the kit: $FSTOOLS_KERNEL_DIR, else the user cache. */
export function defaultKitDir(): string {
  if (process.env.FSTOOLS_KERNEL_DIR) return resolve(process.env.FSTOOLS_KERNEL_DIR);
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'fstools', 'kernel');
}

export interface KitOptions {
  /** The kit folder (default: defaultKitDir()). Its userland is always used. */
  kitDir?: string;
  /** A kernel image of your own; without `modules` the needed drivers must be built in. */
  kernel?: string;
  /** A modules folder (lib/modules/<version> with modules.dep) of your own. */
  modules?: string;
  /** Modules wanted beyond BOOT_MODULES (squashfs for the benchmark, say). */
  extraModules?: string[];
}

/** Resolves the kit: the fetched kernel and modules unless the caller brings their own. */
export function loadKit(opts: KitOptions = {}): GuestKit {
  const kitDir = opts.kitDir ?? defaultKitDir();
  const kernel = opts.kernel ?? join(kitDir, 'vmlinuz');
  if (!existsSync(kernel)) throw new InputError(kernel, opts.kernel ? 'kernel not found' : `guest kernel not found (${FETCH_HINT}, or pass --kernel)`);
  const userland = join(kitDir, 'guest');
  for (const f of ['bin/busybox', 'usr/bin/getfattr']) {
    if (!existsSync(join(userland, f))) throw new InputError(join(userland, f), `guest userland missing (${FETCH_HINT})`);
  }
  const modulesDir = opts.modules ?? (opts.kernel ? undefined : join(kitDir, 'modules'));
  const wanted = [...BOOT_MODULES, ...(opts.extraModules ?? [])];
  const modules = modulesDir ? moduleLoadOrder(modulesDir, wanted).map((rel) => join(modulesDir, rel)) : [];
  return { kernel, modules, userland };
}

interface ModuleIndex {
  /** Module name -> path relative to the folder. */
  path: Map<string, string>;
  /** Module name -> names it depends on. */
  deps: Map<string, string[]>;
  /** Module name -> names or aliases to load before it. */
  pre: Map<string, string[]>;
  /** Alias -> module names. */
  alias: Map<string, string[]>;
  builtin: Set<string>;
}

/** "kernel/fs/ext4/ext4.ko.xz" -> "ext4"; dashes and underscores are one in module names. */
function moduleName(path: string): string {
  return basename(path).replace(/\.ko(\.\w+)?$/, '').replace(/-/g, '_');
}

function readIndex(dir: string): ModuleIndex {
  const depFile = join(dir, 'modules.dep');
  if (!existsSync(depFile)) throw new InputError(depFile, 'missing (point --modules at a lib/modules/<version> folder that depmod has indexed)');
  const lines = (name: string): string[] => {
    const f = join(dir, name);
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')) : [];
  };
  const index: ModuleIndex = { path: new Map(), deps: new Map(), pre: new Map(), alias: new Map(), builtin: new Set() };
  for (const line of lines('modules.dep')) {
    const colon = line.indexOf(':');
    if (colon < 0) throw new InputError(depFile, `malformed line ${JSON.stringify(line)}`);
    const name = moduleName(line.slice(0, colon));
    index.path.set(name, line.slice(0, colon));
    index.deps.set(name, line.slice(colon + 1).trim().split(/\s+/).filter(Boolean).map(moduleName));
  }
  for (const line of lines('modules.softdep')) {
    // "softdep NAME pre: a b post: c"
    const m = /^softdep\s+(\S+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const pre = /pre:\s*([^:]*?)(?:\s+post:.*)?$/.exec(m[2]!);
    if (pre) index.pre.set(moduleName(m[1]!), pre[1]!.trim().split(/\s+/).filter(Boolean));
  }
  for (const line of lines('modules.alias')) {
    const [, alias, name] = line.split(/\s+/);
    if (alias && name) index.alias.set(alias, [...(index.alias.get(alias) ?? []), moduleName(name)]);
  }
  for (const line of lines('modules.builtin')) index.builtin.add(moduleName(line));
  return index;
}

/**
 * Paths (relative to `dir`) of the wanted modules and everything they need, in an order that loads:
 * each module after its dependencies and after the modules its soft "pre" dependencies name
 * (libcrc32c after the crc32c provider, which busybox insmod cannot find by itself). Built-in
 * modules are skipped; a wanted module that is neither a module nor built in is an error.
 */
export function moduleLoadOrder(dir: string, wanted: readonly string[]): string[] {
  const index = readIndex(dir);
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, required: boolean): void => {
    if (seen.has(name) || index.builtin.has(name)) return;
    if (!index.path.has(name)) {
      if (required) throw new InputError(join(dir, 'modules.dep'), `has no module ${name} and it is not built in`);
      return;
    }
    seen.add(name);
    for (const soft of index.pre.get(name) ?? []) {
      const providers = index.path.has(moduleName(soft)) ? [moduleName(soft)] : (index.alias.get(soft) ?? []);
      const provider = providers.find((p) => index.path.has(p) || index.builtin.has(p));
      if (provider) visit(provider, false);
    }
    for (const dep of index.deps.get(name)!) visit(dep, true);
    order.push(index.path.get(name)!);
  };
  for (const name of wanted) visit(name.replace(/-/g, '_'), true);
  return order;
}
