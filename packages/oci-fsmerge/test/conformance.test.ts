// Every row of ../shared/fixtures/oci-conformance/*/README.md, through the whole pipeline and
// read back with our reader (and the kernel in kernel.test.ts for built fixtures).
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErofsImage } from '@fstools/erofs-reader';
import { manifest } from '@fstools/fstree';
import { fsmerge } from '@fstools/oci-fsmerge';
import { scratchDir } from '../../../test/helpers/erofs-oracles.js';
import { conformance, haveConformance } from './helpers/shared.js';

let dir: string;
beforeAll(() => void (dir = scratchDir('fsmerge-conf')));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const have = haveConformance();
let n = 0;

async function merged(file: string, ref?: string): Promise<{ paths: string[]; entries: ReturnType<typeof manifest> }> {
  const out = join(dir, `o${n++}`);
  const r = await fsmerge({ image: join(conformance, file) }, { output: join(out, 'fsmeta.erofs'), ...(ref && { ref }) });
  const img = ErofsImage.open(r.fsmeta.path, { devices: r.devices.slice(1) });
  try {
    const entries = manifest(img.toTree());
    return { paths: entries.map((e) => e.path), entries };
  } finally {
    img.close();
  }
}

async function fails(file: string, re: RegExp, ref?: string): Promise<void> {
  const out = join(dir, `f${n++}`);
  await expect(fsmerge({ image: join(conformance, file) }, { output: join(out, 'fsmeta.erofs'), ...(ref && { ref }) })).rejects.toThrow(re);
  expect(existsSync(join(out, 'fsmeta.erofs'))).toBe(false);
  expect(existsSync(out) ? readdirSync(out).filter((f) => f !== 'blobs') : []).toEqual([]);
}

describe.runIf(have)('go-containerregistry conformance archives', () => {
  it('hello-world-v25.tar: Docker 25 save (index.json "manifests": null) -> one layer, /hello', async () => {
    const m = await merged('hello-world-v25.tar');
    expect(m.paths).toEqual(['.', 'hello']);
    expect(m.entries[1]).toMatchObject({ type: 'file', size: 9136, mode: '0755' });
  });

  it('test_image_1.tar and test_image_2.tar: legacy docker save, one layer each', async () => {
    expect((await merged('test_image_1.tar')).paths).toEqual(['.', 'bar', 'foo']);
    expect((await merged('test_image_2.tar')).paths).toEqual(['.', 'bat', 'baz']);
  });

  it('test_bundle.tar: two images; --ref chooses, ambiguous without', async () => {
    expect((await merged('test_bundle.tar', 'test_image_1')).paths).toEqual(['.', 'bar', 'foo']);
    expect((await merged('test_bundle.tar', 'test_image_2')).paths).toEqual(['.', 'bat', 'baz']);
    await fails('test_bundle.tar', /ambiguous: 2 images.*--ref/);
  });

  it('test_link.tar: layer.tar stored as a symlink to another layer dir', async () => {
    const m = await merged('test_link.tar', 'bazel/v1/tarball:test_image_3');
    expect(m.paths).toEqual(['.', 'bar', 'foo', 'test']);
    expect(m.entries.find((e) => e.path === 'test')).toMatchObject({ mode: '0640', size: 6 });
  });

  it('whiteout_dir.tar: 4 gzip layers a/foo, b/bar, .wh.a, a/baz -> a/baz and b/bar only', async () => {
    expect((await merged('whiteout_dir.tar')).paths).toEqual(['.', 'a', 'a/baz', 'b', 'b/bar']);
  });

  it('whiteout_image.tar, overwritten_file.tar, source_image.tar: whiteouts and overwrites across layers', async () => {
    expect((await merged('whiteout_image.tar')).paths).toEqual(['.', 'bar.txt']);
    const o = await merged('overwritten_file.tar');
    expect(o.paths).toEqual(['.', 'bar.txt', 'foo.txt']);
    expect(o.entries.find((e) => e.path === 'foo.txt')).toMatchObject({ type: 'symlink', target: 'bar.txt' });
    expect((await merged('source_image.tar')).paths).toEqual(['.', 'bar', 'foo']);
  });

  it('null_manifest.tar: clear error, no output', async () => {
    await fails('null_manifest.tar', /manifest\.json is null/);
  });

  it('no_manifest.tar: clear error (pre-1.10 format), no output', async () => {
    await fails('no_manifest.tar', /without manifest\.json/);
  });
});
