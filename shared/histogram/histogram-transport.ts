import type * as hdr from 'hdr-histogram-js';
import { HISTOGRAM_HIGHEST_NS } from './latency-histogram.js';
import { decodeCompressedHistogram, encodeCompressedHistogram } from './histogram-codec.js';

type Histogram = ReturnType<typeof hdr.build>;

/**
 * A histogram in the agent stream's `encoded` field: the same compressed V2 form as the .hlog
 * (histogram-codec.ts, byte for byte as Java's HdrHistogram writes it), so an interval the
 * agent streamed can be handed to HdrHistogram's own tools unchanged.
 */
export function encodeHistogram(histogram: Histogram): string {
  const encoded = encodeCompressedHistogram(histogram);
  // Only a negative or fractional count fails, and recordValue never makes one.
  if (encoded instanceof Error) throw encoded;
  return encoded;
}

export type DecodedHistogram = { ok: true; histogram: Histogram } | { ok: false; reason: string };

/** Decodes what encodeHistogram (or any HdrHistogram port) wrote; a bad payload is a value, never a throw. */
export function decodeHistogram(encoded: string): DecodedHistogram {
  if (encoded.length === 0 || encoded.length > 4_000_000 || !/^[A-Za-z0-9+/]+=*$/.test(encoded)) {
    return { ok: false, reason: 'not base64' };
  }
  // Our own V2 decoder checks the layout and bounds the work before allocating anything:
  // hdr-histogram-js's decoder walks a declared counts length step by step (a 60-byte
  // payload can keep it busy for hours) and allocates whatever layout it is given.
  const decoded = decodeCompressedHistogram(encoded);
  if (!decoded.ok) return decoded;
  const histogram = decoded.histogram as unknown as Histogram;
  // Our histograms stop at 60 s; allow the top bucket's width (3 digits) above it.
  if (histogram.maxValue > HISTOGRAM_HIGHEST_NS * 1.001) return { ok: false, reason: 'values out of range' };
  return { ok: true, histogram };
}
