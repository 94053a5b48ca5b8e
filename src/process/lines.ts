// A text stream -> its lines, for bpftrace's stdout (the hot path: one line per event or map record) and
// stderr. readline's interface cost about 4 % more CPU per record than cutting chunks with indexOf
// (callgrind, 100k-record replay: 5.55 -> 5.29 G instructions after Node's start-up).

/**
 * Calls `onLine` for every line of `stream` ("\n"-terminated; a "\r" before it is dropped; a last line without
 * a newline still counts). UTF-8 characters split across chunks arrive whole. Resolves when the stream ends.
 * `throttle`, checked after each line, may return a promise: the stream pauses until it resolves (lines already
 * read from the current chunk still arrive). For bpftrace's stdout this is the sinks' backpressure: bpftrace
 * then blocks on its stdout and its own buffer fills, so overload shows as counted lost events, not as
 * ebpfmon's memory growing without bound.
 */
export function forEachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void, throttle?: () => Promise<void> | null): Promise<void> {
  stream.setEncoding('utf8');
  let tail = '';
  let paused = false;
  const emit = (line: string): void => {
    onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    const wait = paused || !throttle ? null : throttle();
    if (!wait) return;
    paused = true;
    stream.pause();
    void wait.then(() => {
      paused = false;
      stream.resume();
    });
  };
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
