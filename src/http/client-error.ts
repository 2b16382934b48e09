/**
 * Requests Node's HTTP parser refuses before Express sees them (headers over 16 KiB, a
 * malformed request line, a request that took too long): answered as problem+json like
 * every other error, instead of Node's bare status line.
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { statusOf, type ErrorCode } from '../domain/error-codes';
import { PROBLEM_CONTENT_TYPE, problemType, type Problem } from './errors';

interface ParserError extends Error {
  code?: string;
}

/** Node's parser errors as codes, whose statuses are Node's (see `onParserExecuteCommon` in Node's _http_server). */
function classify(error: ParserError): { code: ErrorCode; detail: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        code: 'headersTooLarge',
        detail: 'The request headers are larger than this service accepts (16 KiB in all); a bearer token is far smaller.',
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { code: 'bodyTooLarge', detail: 'The chunk extensions of the request body are too large.' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 'requestTimeout', detail: 'The request was not received in time.' };
    default:
      return { code: 'malformedRequest', detail: 'The request is not valid HTTP/1.1.' };
  }
}

/** Writes a complete HTTP/1.1 problem response on a socket the parser gave up on, then closes it. */
function answerClientError(error: ParserError, socket: Duplex): void {
  // The peer is gone (or a response is already on its way): nothing can be answered.
  if (error.code === 'ECONNRESET' || !socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const { code, detail } = classify(error);
  const status = statusOf(code);
  const problem: Problem = { type: problemType(code), title: STATUS_CODES[status] ?? 'Error', status, detail, code, instance: '/' };
  const body = JSON.stringify(problem);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-store\r\n' +
      'X-Content-Type-Options: nosniff\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
}

/** Answers the server's parser errors as problem+json. */
export function handleClientErrors(server: Server): void {
  server.on('clientError', answerClientError);
}
