import * as hdr from 'hdr-histogram-js';
import { HISTOGRAM_HIGHEST_NS } from './latency-histogram.js';

type Histogram = ReturnType<typeof hdr.build>;

/** HdrHistogram's own compressed base64 V2 encoding, readable by every HdrHistogram port. */
export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export type DecodedHistogram = { ok: true; histogram: Histogram } | { ok: false; reason: string };

/** Decodes what encodeHistogram wrote; a bad payload is a value, never a throw. */
export function decodeHistogram(encoded: string): DecodedHistogram {
  if (encoded.length === 0 || encoded.length > 4_000_000 || !/^[A-Za-z0-9+/]+=*$/.test(encoded)) {
    return { ok: false, reason: 'not base64' };
  }
  try {
    const histogram = hdr.decodeFromCompressedBase64(encoded, 64, false);
    if (histogram.maxValue > HISTOGRAM_HIGHEST_NS * 2) return { ok: false, reason: 'values out of range' };
    return { ok: true, histogram };
  } catch (error) {
    return { ok: false, reason: (error as Error).message || 'undecodable histogram' };
  }
}
