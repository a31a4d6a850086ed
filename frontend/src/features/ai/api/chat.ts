/**
 * The ops chat: `POST /api/v1/ai/chat/stream` answers as Server-Sent Events (`context`, then
 * `delta`s, then `done` or `error`). Without a configured model that route answers 503, and the
 * question goes to the non-streamed `POST /api/v1/ai/chat`, whose reply carries `error` (and
 * whatever answer the server could give without a model).
 */
import { AI_REQUEST_TIMEOUT_MS, apiRequest, apiStream, isApiError } from '@/lib/api-client';
import type { ChatResponse, ChatSource } from '@/lib/api-types';
import { SseParser, readSseStream, type SseEvent } from '../sse';

export type ChatStreamEvent =
  | { type: 'context'; sources: ChatSource[]; memory_context: string[] }
  | { type: 'delta'; text: string }
  | { type: 'done'; insight_id: number | null }
  | { type: 'error'; detail: string };

function parseData(data: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(data) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const stringList = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/** One SSE event of the chat stream as a typed event; `null` for anything this client does not know. */
export function toChatEvent(event: SseEvent): ChatStreamEvent | null {
  const data = parseData(event.data);
  if (!data) return event.event === 'error' ? { type: 'error', detail: event.data } : null;
  switch (event.event) {
    case 'context':
      return {
        type: 'context',
        sources: Array.isArray(data.sources)
          ? data.sources.filter((s): s is ChatSource => typeof s === 'object' && s !== null && 'summary' in s)
          : [],
        memory_context: stringList(data.memory_context),
      };
    case 'delta':
      return typeof data.text === 'string' ? { type: 'delta', text: data.text } : null;
    case 'done':
      return { type: 'done', insight_id: typeof data.insight_id === 'number' ? data.insight_id : null };
    case 'error':
      return { type: 'error', detail: typeof data.detail === 'string' ? data.detail : event.data };
    default:
      return null;
  }
}

export function askChat(question: string, signal?: AbortSignal): Promise<ChatResponse> {
  return apiRequest<ChatResponse>('/ai/chat', { method: 'POST', body: { question }, signal, timeoutMs: AI_REQUEST_TIMEOUT_MS });
}

/**
 * Asks a question, streaming the answer into `onEvent`. Resolves to `'streamed'` once the stream
 * has ended, or to the non-streamed reply when the server has no model for streaming (503).
 * Throws an `ApiError` for any other failure.
 */
export async function streamChat(
  question: string,
  onEvent: (event: ChatStreamEvent) => void,
  signal?: AbortSignal,
): Promise<'streamed' | ChatResponse> {
  let response: Response;
  try {
    // The server opens the model's stream (retrying a failed start) before it answers.
    response = await apiStream('/ai/chat/stream', { body: { question }, signal, timeoutMs: AI_REQUEST_TIMEOUT_MS });
  } catch (error) {
    if (isApiError(error) && error.status === 503) return askChat(question, signal);
    throw error;
  }
  if (!response.body) {
    // A server (or proxy) that buffered the whole answer: parse it in one go.
    const parser = new SseParser();
    for (const event of [...parser.push(await response.text()), ...parser.end()]) {
      const chatEvent = toChatEvent(event);
      if (chatEvent) onEvent(chatEvent);
    }
    return 'streamed';
  }
  await readSseStream(response.body, (event) => {
    const chatEvent = toChatEvent(event);
    if (chatEvent) onEvent(chatEvent);
  });
  return 'streamed';
}
