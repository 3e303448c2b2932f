import fastifyCompress from '@fastify/compress';
import type { FastifyInstance } from 'fastify';

/**
 * Replies are compressed when Accept-Encoding asks for it and the body is at least 1 KiB
 * (below that, headers and zlib framing eat the gain). Binary-extension replies stay
 * valid: Inference-Header-Content-Length counts the decompressed body, as in Triton.
 * Server-sent events are written on the raw response and never pass through here.
 * Request bodies are inflated by request-encoding.ts, which caps the inflated size.
 */
export function installCompression(app: FastifyInstance): void {
  void app.register(fastifyCompress, { globalDecompression: false, threshold: 1024, encodings: ['br', 'gzip', 'deflate'] });
}
