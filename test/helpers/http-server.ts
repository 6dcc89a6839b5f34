// A real HTTP server on 127.0.0.1 (random port) that answers each path from a
// script, to test clients against real sockets: statuses with headers, hangs,
// connection resets, slow bodies. It records every request it receives.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer. */
export type Step =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string; readonly delay?: number }
  /** Never answers (until the client gives up or the server closes). */
  | { readonly hang: true }
  /** Destroys the socket without an answer: the client sees a network error. */
  | { readonly reset: true }
  /** 200, then `chunks` one every `interval` ms. */
  | { readonly stream: readonly string[]; readonly interval: number };

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  /** The request body, as text. */
  readonly body: string;
  /** Resolves when the exchange ends: `true` if the client went away before the answer was complete. */
  readonly closed: Promise<boolean>;
}

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Sets the answers for `path`: request n gets step n; the last step repeats. Unscripted paths get 200 "ok". */
  script(path: string, ...steps: Step[]): void;
  /** How many requests reached `path`. */
  count(path: string): number;
  close(): Promise<void>;
}

export async function startServer(): Promise<TestServer> {
  const scripts = new Map<string, Step[]>();
  const served = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (fn: () => void, ms: number): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let resolveClosed!: (aborted: boolean) => void;
    const closed = new Promise<boolean>((resolve) => (resolveClosed = resolve));
    res.on('close', () => resolveClosed(!res.writableFinished));
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = served.get(path) ?? 0;
      served.set(path, n + 1);
      requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), closed });
      const steps = scripts.get(path);
      const step: Step = steps === undefined ? { status: 200, body: 'ok' } : (steps[Math.min(n, steps.length - 1)] ?? { status: 200 });
      if ('hang' in step) return;
      if ('reset' in step) {
        req.socket.destroy();
        return;
      }
      if ('stream' in step) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        let i = 0;
        const next = (): void => {
          if (res.destroyed) return;
          if (i === step.stream.length) {
            res.end();
            return;
          }
          res.write(step.stream[i++]);
          later(next, step.interval);
        };
        next();
        return;
      }
      const answer = (): void => {
        if (!res.destroyed) res.writeHead(step.status, step.headers).end(step.body ?? '');
      };
      if (step.delay === undefined) answer();
      else later(answer, step.delay);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    script(path, ...steps) {
      scripts.set(path, steps);
      served.set(path, 0);
    },
    count(path) {
      return requests.filter((r) => r.path === path).length;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback URL where nothing listens: connecting is refused. */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
