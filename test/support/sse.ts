/** A GraphQL subscription over SSE (POST, Accept: text/event-stream), read by hand: every event, its end, its status. */
export interface SseStream {
  /** The response's HTTP status. */
  readonly status: number;
  /** `next` payloads so far. */
  readonly results: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }[];
  /** True once a `complete` event came. */
  readonly completed: boolean;
  /** Resolves when the server ends the stream (with or without `complete`). */
  readonly ended: Promise<void>;
  /** Resolves once `n` results arrived; rejects after `timeoutMs` or when the stream ends first. */
  next(n: number, timeoutMs?: number): Promise<void>;
  /** The client goes away. */
  close(): void;
}

export async function sseSubscribe(httpUrl: string, token: string | null, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(httpUrl, {
    method: 'POST',
    signal: abort.signal,
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const results: SseStream['results'] = [];
  let completed = false;
  let ended = false;
  const wake = new Set<() => void>();
  const notify = () => {
    for (const w of wake) w();
  };
  const read = (async () => {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: ?(.*)$/m.exec(block)?.[1];
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.replace(/^data: ?/, ''))
            .join('\n');
          if (event === 'next' && data) results.push(JSON.parse(data));
          if (event === 'complete') completed = true;
          notify();
        }
      }
    } catch {
      // aborted by close()
    } finally {
      ended = true;
      notify();
    }
  })();
  return {
    status: res.status,
    results,
    get completed() {
      return completed;
    },
    ended: read,
    next(n, timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (results.length >= n) done(resolve);
          else if (ended) done(() => reject(new Error(`the stream ended after ${results.length} of ${n} results: ${JSON.stringify(results)}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`only ${results.length} of ${n} results after ${timeoutMs} ms`))), timeoutMs);
        const done = (then: () => void) => {
          clearTimeout(timer);
          wake.delete(check);
          then();
        };
        wake.add(check);
        check();
      });
    },
    close: () => abort.abort(),
  };
}
