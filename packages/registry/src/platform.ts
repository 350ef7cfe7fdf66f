import { RegistryError } from './errors.js';

/** An image platform as OCI indexes and image configs state it. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

// The names uname and Debian use for architectures OCI calls otherwise (containerd normalizes them too).
const ARCH_ALIASES: Record<string, Platform['architecture']> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', i386: '386', i686: '386' };

/** Which variant an architecture means when none is stated. */
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8', arm: 'v7' };

/**
 * `os/arch[/variant]` (as --platform takes it: `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`),
 * lowercased, with x86_64 and aarch64 read as amd64 and arm64. Bad text is a one-line RegistryError
 * naming `source`.
 */
export function parsePlatform(text: string, source = '--platform'): Platform {
  const parts = text.toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new RegistryError(source, 'reference', `expected os/arch[/variant], got '${text}'`);
  }
  const [os, arch, variant] = parts as [string, string, string | undefined];
  const architecture = ARCH_ALIASES[arch] ?? arch;
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform | undefined): string {
  if (!p) return 'unknown platform';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The variant a platform means, its stated one or its architecture's default. */
export function effectiveVariant(p: Platform): string | undefined {
  return p.variant || DEFAULT_VARIANT[p.architecture];
}

/** Whether an image of platform `have` satisfies a request for `want` (a requested variant must match). */
export function platformMatches(have: Platform | undefined, want: Platform): boolean {
  if (!have || have.os !== want.os || have.architecture !== want.architecture) return false;
  return want.variant === undefined || effectiveVariant(have) === effectiveVariant(want);
}

/** The platform this process runs on, in OCI terms (always linux: the images are for Linux guests). */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

/** A platform object from untrusted JSON, or undefined when it states none. */
export function platformFrom(v: unknown): Platform | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.os !== 'string' || typeof o.architecture !== 'string') return undefined;
  return typeof o.variant === 'string' && o.variant !== '' ? { os: o.os, architecture: o.architecture, variant: o.variant } : { os: o.os, architecture: o.architecture };
}
