/** Messages between the main thread and a job worker. */
export interface SerializedError {
  message: string;
  /** A DomainError's kind and code, when it was one. */
  kind?: string;
  code?: string;
  path?: string;
  details?: Record<string, unknown>;
}

export type ToWorker =
  | { type: 'job'; id: number; kind: string; input: unknown }
  | { type: 'reply'; callId: number; value?: unknown; error?: SerializedError };

export type ToMain =
  | { type: 'ready' }
  | { type: 'done'; id: number; value: unknown }
  | { type: 'failed'; id: number; error: SerializedError }
  | { type: 'call'; id: number; callId: number; method: string; args: unknown[] };
