/** Body of the crop thread: samples every quad of one image and sends the crops back by transfer. */
import { parentPort } from 'node:worker_threads';
import type { RawImage } from './raw-image.js';
import { warpQuad } from './warp-quad.js';

export interface WarpRequest {
  readonly id: number;
  readonly image: RawImage;
  readonly quads: readonly (readonly (readonly [number, number])[])[];
}

export type WarpReply = { readonly id: number; readonly crops: RawImage[] } | { readonly id: number; readonly error: string };

const port = parentPort;
if (!port) throw new Error('warp-thread must run in a worker thread');

port.on('message', (request: WarpRequest) => {
  try {
    const crops = request.quads.map((quad) => warpQuad(request.image, quad));
    port.postMessage(
      { id: request.id, crops } satisfies WarpReply,
      crops.map((crop) => crop.data.buffer as ArrayBuffer),
    );
  } catch (error) {
    port.postMessage({ id: request.id, error: (error as Error).message } satisfies WarpReply);
  }
});
