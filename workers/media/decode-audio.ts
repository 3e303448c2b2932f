import { ServingError } from '../protocol/errors.js';
import { decodeBytesElements, type Tensor } from '../protocol/tensor.js';
import type { AudioInputSpec } from '../repository/model-config.js';
import { decodeClipsOffThread } from './audio-threads.js';

/** WAV files (the elements of a BYTES tensor) to FP32 [n, samples] at the model's rate, decoded off the event loop. */
export async function decodeAudio(tensor: Tensor, spec: AudioInputSpec, maxSeconds: number): Promise<Tensor> {
  const files = decodeBytesElements(tensor.data as Uint8Array) ?? [];
  const { clips } = await decodeClipsOffThread({
    files,
    where: files.map((_, index) => `input "${tensor.name}", audio ${index}`),
    sampleRate: spec.sample_rate,
    maxSeconds,
  });
  const length = clips[0]?.length ?? 0;
  if (clips.some((clip) => clip.length !== length)) {
    throw new ServingError(
      'invalid_media',
      `input "${tensor.name}": the audio clips of one request must last equally long (send them as separate requests)`,
    );
  }
  if (clips.length === 1) return { name: tensor.name, datatype: 'FP32', shape: [1, length], data: clips[0]! };
  const data = new Float32Array(clips.length * length);
  clips.forEach((clip, index) => data.set(clip, index * length));
  return { name: tensor.name, datatype: 'FP32', shape: [clips.length, length], data };
}
