// The codecs a record batch's attributes name (bits 0-2), turned back into its records' bytes.
// gzip and lz4 as the client decodes them (node:zlib; its optional native module lz4-napi).
// snappy through the client's optional native module, but the client reads only a raw snappy
// block, and Java producers write snappy-java's framed stream: both are read. zstd, which Java
// producers, Vector and Benthos are often set to, the client reads only through node:zlib's, which
// Node has from 22.15 on: before, fzstd's pure-JS decoder does.

import zlib from 'node:zlib';
import { compressionsAlgorithmsByBitmask } from '@platformatic/kafka';
import { decompress as fzstdDecompress } from 'fzstd';

const SNAPPY = 2;
const ZSTD = 4;

/**
 * How snappy-java's SnappyOutputStream (Java's producer) begins: a magic, then a version and a
 * compatible version (int32 each); blocks follow, each a length (int32) and a raw snappy block.
 */
const XERIAL_MAGIC = Buffer.from([0x82, ...Buffer.from('SNAPPY'), 0]);
const XERIAL_HEADER = 16;

/** node:zlib's Zstandard decoder where Node has one (22.15+); Node 20's types do not know it. */
const nodeZstd = (zlib as { zstdDecompressSync?: (data: Buffer) => Buffer }).zstdDecompressSync;

const zstdDecompress: (data: Buffer) => Buffer =
  nodeZstd ??
  ((data) => {
    const out = fzstdDecompress(data);
    // A view of fzstd's array, not a copy: a record's value stays a view of it.
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  });

/** The batch body `data` compressed with codec `codec` (1 gzip, 2 snappy, 3 lz4, 4 zstd), decompressed. */
export function decompress(codec: number, data: Buffer): Buffer {
  if (codec === ZSTD) return zstdDecompress(data);
  if (codec === SNAPPY && isXerialFramed(data)) return unframeSnappy(data);
  const algorithm = compressionsAlgorithmsByBitmask[codec];
  if (!algorithm) throw new Error(`kafka: record batch compressed with unknown codec ${codec}`);
  return algorithm.decompressSync(data);
}

/**
 * A raw block cannot begin so: after its length (0x82 0x53) would come a copy ('N'), with nothing
 * before it to copy from. snappy-java's own reader tells them apart the same way.
 */
const isXerialFramed = (data: Buffer) =>
  data.length >= XERIAL_HEADER && data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);

/** The raw snappy blocks of a snappy-java stream, each decompressed, end to end. */
function unframeSnappy(data: Buffer): Buffer {
  const raw = compressionsAlgorithmsByBitmask[SNAPPY]!;
  const blocks: Buffer[] = [];
  for (let at = XERIAL_HEADER; at < data.length; ) {
    const end = at + 4 <= data.length ? at + 4 + data.readUInt32BE(at) : Number.POSITIVE_INFINITY;
    if (end > data.length)
      throw new Error(`kafka: snappy-java block at byte ${at} runs past the batch's ${data.length} bytes`);
    blocks.push(raw.decompressSync(data.subarray(at + 4, end)));
    at = end;
  }
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
}
