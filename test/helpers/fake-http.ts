import { Readable } from 'node:stream';
import { HttpResponse, type HttpRequest } from '@smithy/protocol-http';
import type { Pacing } from '#adapters/aws/pacing.ts';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly json: unknown;
}

export interface ScriptedReply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body: unknown;
}

/**
 * An HTTP handler for real SDK clients: every request goes through the SDK's own serializers, signing and
 * deserializers; this only answers on the wire. Replies are taken in order (the last one repeats).
 */
export const scriptedHttp = (replies: readonly (ScriptedReply | ((req: RecordedRequest) => ScriptedReply))[]) => {
  const requests: RecordedRequest[] = [];
  return {
    requests,
    handler: {
      metadata: { handlerProtocol: 'h1' },
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
      async handle(request: HttpRequest) {
        const raw = request.body;
        // The bytes are decoded as they are: the SDK's JSON body is a Uint8Array whose valueOf (which Buffer.from(raw)
        // calls) converts it to a string with a warning that a later SDK will throw instead.
        const body = typeof raw === 'string' ? raw : raw instanceof Uint8Array ? new TextDecoder().decode(raw) : '';
        let json: unknown;
        try {
          json = body === '' ? undefined : JSON.parse(body);
        } catch {
          json = undefined;
        }
        const recorded = { method: request.method, path: request.path, headers: request.headers, body, json };
        requests.push(recorded);
        const script = replies[Math.min(requests.length - 1, replies.length - 1)];
        if (script === undefined) throw new Error('no scripted reply');
        const reply = typeof script === 'function' ? script(recorded) : script;
        // Binary bodies (e.g. a gzipped log file) go out as they are; anything else as text or JSON.
        const payload = Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
        return {
          response: new HttpResponse({ statusCode: reply.status, headers: { 'content-type': 'application/json', ...(reply.headers ?? {}) }, body: Readable.from([payload]) }),
        };
      },
    },
  };
};

/** A virtual clock: sleeping advances time instantly, and every sleep is recorded. */
export const virtualPacing = (): Pacing & { readonly slept: number[] } => {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    nowMs: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    random: () => 0.5,
  };
};

export const TEST_CREDENTIALS = { accessKeyId: 'AKIDTESTTESTTEST', secretAccessKey: 'test-secret' } as const;
