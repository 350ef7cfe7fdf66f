/** crc-32 ships types for its CRC-32 entry point only; its CRC-32C twin (CommonJS) has the same API. */
declare module 'crc-32/crc32c.js' {
  const CRC32C: { buf(data: Uint8Array | number[], seed?: number): number };
  export default CRC32C;
}
