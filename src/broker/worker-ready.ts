/**
 * A module worker whose imports use top-level await (our CRC-32C wasm) starts listening only
 * after they settle, and Chromium drops messages that arrive before: a request sent at once
 * to a new worker can vanish, and its caller would wait forever. So the worker says when it
 * listens, and the page waits for that word (or the worker's error) before its first request.
 */
const READY = 'tabka:worker-ready';

export function announceWorkerReady(scope: { postMessage(message: unknown): void }): void {
  scope.postMessage({ [READY]: true });
}

export function workerReady(worker: Worker, timeoutMs = 30_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      worker.removeEventListener('message', onMessage);
      worker.removeEventListener('error', onError);
    };
    const onMessage = (event: MessageEvent<unknown>) => {
      if (typeof event.data === 'object' && event.data !== null && READY in event.data) {
        done();
        resolve();
      }
    };
    const onError = (event: ErrorEvent) => {
      done();
      reject(new Error(`the broker worker failed to start: ${event.message || 'its module did not load'}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the broker worker did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', onError);
  });
}
