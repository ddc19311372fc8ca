/**
 * Server-sent events off a fetch body, in order: each event's name (if any) and data. The body is read as it
 * comes, with no other stream or generator in between, one string search per line.
 */
export async function* sseEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ event: string | undefined; data: string }> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let event: string | undefined;
  const completed: { event: string | undefined; data: string }[] = [];
  const line = (text: string) => {
    if (text === '') {
      if (data.length > 0) completed.push({ event, data: data.join('\n') });
      data = [];
      event = undefined;
    } else if (text.startsWith('data:')) data.push(text.slice(text.startsWith('data: ') ? 6 : 5));
    else if (text.startsWith('event:')) event = text.slice(6).trim();
    // Comments (`:`), `id:` and `retry:` mean nothing to a model's reply.
  };
  // A reader rather than `for await`: the DOM typings the web app compiles this with do not make a
  // ReadableStream iterable. Like `for await`, leaving early (the run stopped) cancels the body.
  const reader = body.getReader();
  let finished = false;
  try {
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      buffer += decoder.decode(read.value, { stream: true });
      let start = 0;
      for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n', start)) {
        line(buffer.charCodeAt(end - 1) === 13 ? buffer.slice(start, end - 1) : buffer.slice(start, end));
        start = end + 1;
      }
      buffer = buffer.slice(start);
      yield* completed;
      completed.length = 0;
    }
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  // A last event the server did not close with a blank line still counts, as the openai SDK reads it.
  line(buffer + decoder.decode());
  line('');
  yield* completed;
}
