#!/usr/bin/env node
// Fixed-output encoders on an EROFS-like pcluster loop: each file is cut into pclusters of `cap`
// bytes the way mkfs.erofs does without fragments or tail packing (the tail of at most `cap`
// bytes and clusters that do not save a block stay raw); prints the blocks used, the compressed
// bytes and the input MB/s (per CPU second of the fastest run, which a busy machine disturbs less than wall time). Usage: node bench/destsize.mjs ALG LEVEL CAP FILELIST [--verify]
//   ALG: lz4 | deflate | zstd | lzma.  FILELIST: one path a line.  RUNS=N (default 3): the fastest run counts.
import { readFileSync } from 'node:fs';
import * as codecs from '../dist/index.js';

const [alg, levelArg, capArg, list, ...flags] = process.argv.slice(2);
const level = Number(levelArg);
const cap = Number(capArg);
const verify = flags.includes('--verify');
const files = readFileSync(list, 'utf8').split('\n').filter(Boolean).map((p) => readFileSync(p));
const total = files.reduce((s, f) => s + f.length, 0);
// mkfs.erofs's LZMA dictionary: 4 pclusters, at least 32 KiB, at most 8 MiB.
const lzmaDict = Math.max(32768, Math.min(8 << 20, cap * 4));

const encode = {
  lz4: () => { const e = new codecs.Lz4Encoder(level); return (src) => e.compressDestSize(src, cap); },
  deflate: () => { const e = new codecs.DeflateEncoder(level); return (src) => e.compressDestSize(src, cap); },
  zstd: () => { const e = new codecs.ZstdEncoder(level); return (src) => e.compressDestSize(src, cap); },
  lzma: () => { const e = new codecs.LzmaEncoder(level, lzmaDict); return (src) => e.compressDestSize(src, cap); },
}[alg]();
const decode = {
  lz4: (data, n) => { const o = new Uint8Array(n); codecs.lz4Decompress(data, o); return o; },
  deflate: (data, n) => codecs.deflateDecompress(data, n),
  zstd: (data, n) => codecs.zstdDecompress(data, n),
  lzma: (data, n) => { const o = new Uint8Array(n); codecs.microLzmaDecompress(data, o, lzmaDict, true); return o; },
}[alg];

function run() {
  let blocks = 0, comp = 0, compin = 0, calls = 0;
  const c0 = process.cpuUsage();
  for (const f of files) {
    let pos = 0;
    while (pos < f.length) {
      const rem = f.length - pos;
      if (rem <= cap) { blocks += Math.ceil(rem / 4096); break; }
      const src = f.subarray(pos);
      const { consumed, data } = encode(src);
      calls++;
      if (data.length > cap) throw new Error(`output ${data.length} > ${cap}`);
      if (verify && !Buffer.from(decode(data, consumed)).equals(src.subarray(0, consumed))) throw new Error(`round trip failed at ${pos}`);
      const pb = Math.ceil(data.length / 4096);
      if (pb * 4096 >= consumed) { blocks += pb; pos += Math.min(rem, pb * 4096); }
      else { blocks += pb; pos += consumed; comp += data.length; compin += consumed; }
    }
  }
  const c = process.cpuUsage(c0);
  const sec = (c.user + c.system) / 1e6;
  return { blocks, comp, compin, calls, sec };
}
let r = run();
for (let i = 1, runs = verify ? 1 : Number(process.env.RUNS ?? 3); i < runs; i++) { const r2 = run(); if (r2.sec < r.sec) r = r2; }
console.log(`${alg} ${level} cap ${cap}: blocks ${r.blocks} (${(r.blocks * 4096 / 1048576).toFixed(1)} MiB) compressed ${r.compin}->${r.comp} calls ${r.calls}  ${r.sec.toFixed(3)} s  ${(total / r.sec / 1e6).toFixed(1)} MB/s input`);
