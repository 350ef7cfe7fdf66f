import { InputError } from '@fstools/fstree';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** "linux/arm64/v8" -> Platform; a usage error (not input) when malformed. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new InputError('--platform', `expected os/arch[/variant], got '${text}'`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform | undefined): string {
  if (!p) return 'unknown platform';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Whether an image's platform satisfies a request; a requested variant must match (arm64 defaults to v8). */
export function platformMatches(have: Platform | undefined, want: Platform): boolean {
  if (!have) return false;
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  if (!want.variant) return true;
  const variant = have.variant ?? (have.architecture === 'arm64' ? 'v8' : undefined);
  return variant === want.variant;
}

/** The platform this process runs on, in OCI terms. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

/** A platform object from untrusted JSON, or undefined when it has none. */
export function platformFrom(v: unknown): Platform | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  const os = o.os;
  const architecture = o.architecture;
  if (typeof os !== 'string' || typeof architecture !== 'string') return undefined;
  return typeof o.variant === 'string' && o.variant ? { os, architecture, variant: o.variant } : { os, architecture };
}
