/** The gzip magic number (RFC 1952 §2.3.1): a compressed stream is recognised by its bytes, not its file name. */
export function isGzip(firstBytes: Uint8Array): boolean {
  return firstBytes.length >= 2 && firstBytes[0] === 0x1f && firstBytes[1] === 0x8b;
}

/**
 * Decompress a gzip byte stream with the web-standard DecompressionStream (Node >= 18 and Deno), chunk by chunk.
 * A corrupt or truncated stream throws; the reader turns that into a problem for the file.
 */
export async function* gunzip(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const stream = new DecompressionStream('gzip');
  const writer = stream.writable.getWriter();
  const feeding = (async () => {
    try {
      for await (const chunk of chunks) await writer.write(chunk as Uint8Array<ArrayBuffer>);
      await writer.close();
    } catch (err) {
      await writer.abort(err).catch(() => {});
    }
  })();
  const reader = stream.readable.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      yield value;
    }
  } finally {
    // Cancelling the readable side also fails the writer, so the feeding loop stops and closes its source.
    await reader.cancel().catch(() => {});
    await feeding;
  }
}
