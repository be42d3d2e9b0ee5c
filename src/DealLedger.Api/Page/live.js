// Following the change feed (GET /api/feed/stream, Server-Sent Events). Read with fetch rather than
// EventSource, because EventSource cannot send the X-Api-Key header and a key must never go into a
// URL; the protocol is the same: `id:` is the global sequence, and a reconnect sends Last-Event-ID
// so nothing is missed or repeated.

import { ApiError, api, headers } from './api.js';

/** Yields { id, event, data } for each message of a text/event-stream body. */
async function* messages(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const abort = () => reader.cancel().catch(() => {});
  signal.addEventListener('abort', abort);
  let buffer = '';
  let message = { id: null, event: 'message', data: [] };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        return;
      }
      buffer += value;
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop();
      for (const line of lines) {
        if (line === '') {
          if (message.data.length) {
            yield { id: message.id, event: message.event, data: message.data.join('\n') };
          }
          message = { id: message.id, event: 'message', data: [] };
          continue;
        }
        if (line.startsWith(':')) {
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') {
          message.data.push(text);
        } else if (field === 'id') {
          message.id = text;
        } else if (field === 'event') {
          message.event = text;
        }
      }
    }
  } finally {
    signal.removeEventListener('abort', abort);
  }
}

/**
 * Follows the feed from the log's current head: onChange({ sequence, message }) per change,
 * onState('connecting' | 'connected' | 'reconnecting' | 'needs-key' | 'off').
 */
export class Live {
  constructor({ onChange, onState }) {
    this.onChange = onChange;
    this.onState = onState;
    this.controller = null;
    this.last = null;
  }

  get running() {
    return this.controller !== null;
  }

  start() {
    if (this.controller) {
      return;
    }
    this.controller = new AbortController();
    this.loop(this.controller.signal);
  }

  stop() {
    this.controller?.abort();
    this.controller = null;
    this.onState('off');
  }

  async loop(signal) {
    let wait = 1000;
    while (!signal.aborted) {
      this.onState(this.last === null ? 'connecting' : 'reconnecting');
      try {
        if (this.last === null) {
          // Start at the log's head: the view on screen already shows everything up to it.
          this.last = (await api.feedHead(signal)).highWaterMark;
        }
        const response = await fetch('/api/feed/stream', {
          headers: headers({ Accept: 'text/event-stream', 'Last-Event-ID': String(this.last) }),
          signal,
          cache: 'no-store',
        });
        if (response.status === 401 || response.status === 403) {
          this.controller = null;
          this.onState('needs-key');
          return;
        }
        if (!response.ok) {
          throw new Error(`the feed answered ${response.status}`);
        }
        this.onState('connected');
        wait = 1000;
        for await (const m of messages(response.body, signal)) {
          if (m.id !== null) {
            this.last = Number(m.id);
          }
          this.onChange({ sequence: this.last, message: m.data });
        }
      } catch (e) {
        if (signal.aborted) {
          return;
        }
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
          this.controller = null;
          this.onState('needs-key');
          return;
        }
      }
      if (signal.aborted) {
        return;
      }
      this.onState('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 5000);
    }
  }
}
