import { DEFAULT_MAX_AUDIO_SECONDS } from '../../../workers/media/audio-threads.js';
import { TransformCatalog } from './catalog.js';
import { DecodedMemory } from './decoded-memory.js';
import { tensorFromJson } from './generic/tensor-from-json.js';
import { topK } from './generic/top-k.js';
import { moderationDecide } from './moderation/moderation-decide.js';
import { cropLines } from './ocr/crop-lines.js';
import { detectionInput } from './ocr/detection-input.js';
import { lineTensors } from './ocr/line-tensors.js';
import { orientLines } from './ocr/orient-lines.js';
import { readLines } from './ocr/read-lines.js';
import { textBoxes } from './ocr/text-boxes.js';
import { speechProbabilities } from './vad/speech-probabilities.js';
import { speechSegmentsTransform } from './vad/speech-segments-transform.js';

export interface TransformLimits {
  /** Images with more pixels are refused before decoding (the gateway's MAX_IMAGE_PIXELS). */
  readonly maxImagePixels?: number;
  /** Audio one task may carry, in seconds (the gateway's MAX_AUDIO_SECONDS). */
  readonly maxAudioSeconds?: number;
  /** Decoded image bytes the tasks may hold at once (the gateway's DECODED_IMAGE_BYTES). */
  readonly decodedImageBytes?: number;
}

const DEFAULT_MAX_IMAGE_PIXELS = 40_000_000;
const DEFAULT_DECODED_IMAGE_BYTES = 512 * 1024 * 1024;

/** Every transform a pipeline.json may name. */
export function builtInTransforms(limits: TransformLimits = {}): TransformCatalog {
  return new TransformCatalog([
    detectionInput(
      limits.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS,
      new DecodedMemory(limits.decodedImageBytes ?? DEFAULT_DECODED_IMAGE_BYTES),
    ),
    textBoxes(),
    cropLines(),
    lineTensors(),
    orientLines(),
    readLines(),
    moderationDecide(),
    speechProbabilities(limits.maxAudioSeconds ?? DEFAULT_MAX_AUDIO_SECONDS),
    speechSegmentsTransform(),
    tensorFromJson,
    topK,
  ]);
}
