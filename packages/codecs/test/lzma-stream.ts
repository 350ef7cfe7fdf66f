// A real MicroLZMA stream and what it decodes to, for the codec's tests and erofs-reader's pcluster tests.

/**
 * A MicroLZMA stream cut from an image mkfs.erofs 1.8.6 made (-zlzma -Eztailpacking: the inline
 * tail pcluster of a 2500-byte file). Its first byte 0xa2 is the complement of properties byte 93
 * (lc 3, lp 0, pb 2).
 */
export const STREAM = Buffer.from(
  'ojKciiHldfxRtEfgcrR2qNNDXnsa4M3+f01f1lNsRhg6wp+hk1JAN1w04oRTc1RJgbW65XPAMl/KC65sSPOU8qeZA2+EZH9b9UCOsQcCKxOLHHzVv8pramx2HkTJxlISDww2KAj8qjn4wdhWDL7R6XlX8adEYlbS0Z74R9xeUY1TuGSDcAdIl2TBJFVxzPWQSTui04LBsv2MYK4ug1U8bVCuYVfO5ESSUs2GClktrL0m+Yk76o/WIlVfN/CQBvT3nbN2QBSImx6hXASegtpxaNJGrMMAXFbsRdqztBfUbqEUBJjFUIV/s1FcTk9E4aCDelo1KL9/Qc2BGE/z23BHuzm80EchudFRg1P3vlTDgL604MTnZWXhWCvkUnUOX2djuh7MJ8Pu7eTZWjaNR4Qf6Zd4ZZgypH1iccALrb1Bj8q+hDOCXo8GYLruGyBmygnuVfcJqx8Dm1qVU5GWUt4bfEUpAC032mUbzVajEZVIQV2qrZcvcj5/mVDeiupw9RkuY0kwP311oickc16eXUbr9iEcltw/a/XNcluJLgDcCTN18CQiA6NYz+QSd0HFvRLlPiWAzkWtJd8lTknsD4I=',
  'base64',
);

/** What STREAM decodes to: words picked by xorshift32 from seed 7, cut at 2500 bytes. */
export function plain(): Buffer {
  const words = ['erofs', 'block', 'inode', 'lzma', 'range', 'coder', 'literal', 'match', '\n'];
  let x = 7;
  let s = '';
  while (s.length < 2500) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    s += words[(x >>> 0) % words.length] + ' ';
  }
  return Buffer.from(s.slice(0, 2500));
}
