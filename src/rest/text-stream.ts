// A response body pulled from text chunks: each chunk is encoded when the socket asks for more, so
// a large answer is never held whole, as a string or as bytes.

/** A byte stream of `chunks`, UTF-8 encoded one at a time as the reader pulls. */
export function textStream(chunks: Iterable<string>): ReadableStream<Uint8Array> {
  const iterator = chunks[Symbol.iterator]();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const next = iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      },
      cancel() {
        iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}
