import { request } from 'node:http';

/** POSTs a JSON `body` and calls `uploaded` once its last byte is handed to the socket (to time what happens after). */
export function postBody(url: string, body: Buffer, uploaded: () => void): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body, uploaded);
  });
}
