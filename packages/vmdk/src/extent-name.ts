import { InputError } from '@fstools/fstree';

/**
 * Why a file name cannot appear in an extent line, or undefined when it can. Consumers split
 * extent lines on spaces and quotes (qemu scans `"%[^"]"`, others split on whitespace), so the
 * portable subset has neither, nor control characters.
 */
export function badExtentName(name: string): string | undefined {
  if (name === '') return 'empty file name';
  if (/[\s"']/.test(name)) return 'file name contains a space or a quote, which VMDK extent lines cannot carry';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) return 'file name contains a control character';
  return undefined;
}

export function checkExtentName(name: string, file: string): void {
  const why = badExtentName(name);
  if (why) throw new InputError(file, why);
}
