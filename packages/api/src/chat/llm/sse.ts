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
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n', start)) {
      line(buffer.charCodeAt(end - 1) === 13 ? buffer.slice(start, end - 1) : buffer.slice(start, end));
      start = end + 1;
    }
    buffer = buffer.slice(start);
    yield* completed;
    completed.length = 0;
  }
  // A last event the server did not close with a blank line still counts, as the openai SDK reads it.
  line(buffer + decoder.decode());
  line('');
  yield* completed;
}
