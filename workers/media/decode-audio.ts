import { ServingError } from '../protocol/errors.js';
import { decodeBytesElements, type Tensor } from '../protocol/tensor.js';
import type { AudioInputSpec } from '../repository/model-config.js';
import { decodeWav, resample } from './decode-wav.js';

/** WAV files (the elements of a BYTES tensor) to FP32 [n, samples] at the model's rate. */
export function decodeAudio(tensor: Tensor, spec: AudioInputSpec): Tensor {
  const files = decodeBytesElements(tensor.data as Uint8Array) ?? [];
  const clips = files.map((file, index) => {
    const decoded = decodeWav(file, `input "${tensor.name}", audio ${index}`);
    return resample(decoded.samples, decoded.sampleRate, spec.sample_rate);
  });
  const length = clips[0]?.length ?? 0;
  if (clips.some((clip) => clip.length !== length)) {
    throw new ServingError('invalid_media', `input "${tensor.name}": the audio clips of one request must last equally long (send them as separate requests)`);
  }
  const data = new Float32Array(clips.length * length);
  clips.forEach((clip, index) => data.set(clip, index * length));
  return { name: tensor.name, datatype: 'FP32', shape: [clips.length, length], data };
}
