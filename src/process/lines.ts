// A text stream -> its lines, for bpftrace's stdout (the hot path: one line per event or map record) and
// stderr. readline's interface cost about 4 % more CPU per record than cutting chunks with indexOf
// (callgrind, 100k-record replay: 5.55 -> 5.29 G instructions after Node's start-up).

/**
 * Calls `onLine` for every line of `stream` ("\n"-terminated; a "\r" before it is dropped; a last line without
 * a newline still counts). UTF-8 characters split across chunks arrive whole. Resolves when the stream ends.
 * Pausing the stream pauses the lines after the current chunk's, as with readline.
 */
export function forEachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<void> {
  stream.setEncoding('utf8');
  let tail = '';
  const emit = (line: string): void => onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  stream.on('data', (chunk: string) => {
    const text = tail ? tail + chunk : chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      emit(text.slice(start, nl));
      start = nl + 1;
    }
    tail = text.slice(start);
  });
  return new Promise((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      if (tail) emit(tail);
      tail = '';
      resolve();
    };
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', finish);
  });
}
