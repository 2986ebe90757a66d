/**
 * A function that returns a DataView of a buffer, the one it made last time when the buffer is
 * the same: for paths that read many records out of one buffer (a native batch's replies, its
 * packed records) and would otherwise make a view per record or per batch. Each caller keeps
 * its own, so that two buffers read by turns do not evict each other.
 */
export function cachedDataView(): (buffer: ArrayBufferLike) => DataView {
  let lastBuffer: ArrayBufferLike | null = null;
  let lastView: DataView | null = null;
  return (buffer) => {
    if (buffer !== lastBuffer || lastView === null) {
      lastView = new DataView(buffer);
      lastBuffer = buffer;
    }
    return lastView;
  };
}
