/** Shared helpers of the broadcast tests: recipients, progress views and an SSE reader over real HTTP. */
import { request } from 'node:http';
import type { BroadcastView } from '../../src/http/schemas/broadcast.schema.js';
import { TEST_ADMIN_TOKEN } from './config.js';

export const adminAuth = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

/** What the API answers for a broadcast: the route's own response schema. */
export type BroadcastProgress = BroadcastView;

/** `count` distinct person jids in a numbering range of their own (`series` 1..99). */
export function recipients(series: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `97${String(series).padStart(2, '0')}${String(i).padStart(8, '0')}@s.whatsapp.net`);
}

/** Reads `GET url` as Server-Sent Events until the server ends the stream; returns the progress events. */
export function readProgressEvents(baseUrl: string, path: string, timeoutMs = 30_000): Promise<BroadcastProgress[]> {
  return new Promise((resolve, reject) => {
    const events: BroadcastProgress[] = [];
    const req = request(`${baseUrl}${path}`, { headers: { ...adminAuth, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) {
        reject(new Error(`SSE answered ${res.statusCode ?? '?'} ${String(res.headers['content-type'])}`));
        res.resume();
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice('data: '.length))
            .join('\n');
          if (data) events.push(JSON.parse(data) as BroadcastProgress);
          end = buffer.indexOf('\n\n');
        }
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve(events);
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`SSE stream did not end within ${timeoutMs} ms; got ${events.length} events`));
    }, timeoutMs);
    req.on('error', reject);
    req.end();
  });
}
