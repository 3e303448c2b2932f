import { ServingError } from '../protocol/errors.js';

/** One decoded WAV file: mono samples in [-1, 1] at `sampleRate`. */
export interface DecodedAudio {
  readonly samples: Float32Array;
  readonly sampleRate: number;
}

/** Where a WAV file's samples are and how they are stored, read from its header alone. */
export interface WavLayout {
  readonly pcm16: boolean;
  readonly channels: number;
  readonly sampleRate: number;
  /** Samples per channel. */
  readonly frames: number;
  readonly dataStart: number;
}

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;
/** WAV format codes a caller may send that are not PCM or float, by the name they know them by. */
const CODECS: ReadonlyMap<number, string> = new Map([
  [0x0002, 'Microsoft ADPCM'],
  [0x0006, 'A-law'],
  [0x0007, 'µ-law'],
  [0x0011, 'IMA ADPCM'],
  [0x0031, 'GSM 6.10'],
  [0x0050, 'MPEG audio'],
  [0x0055, 'MP3'],
]);

const codecName = (code: number): string => {
  const name = CODECS.get(code);
  return name ? `${name} (WAV format ${code})` : `WAV format ${code}`;
};

/** What a writer that cannot seek back (a pipe) leaves as the data chunk's size: the samples run to the end. */
const STREAMED_SIZES: ReadonlySet<number> = new Set([0, 0xffffffff]);

/**
 * Reads a RIFF/WAVE file's header: PCM 16-bit or IEEE float 32-bit, mono or stereo.
 * Anything else is a clear 400, never a crash. Cheap: it walks the chunk headers only,
 * so a clip's length is known before any sample is decoded.
 */
export function readWavLayout(bytes: Uint8Array, where: string): WavLayout {
  const bad = (problem: string): ServingError => new ServingError('invalid_media', `${where}: ${problem}`);
  if (bytes.byteLength === 0) throw bad('is empty');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number): string => String.fromCharCode(bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!);
  if (bytes.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw bad('is not a WAV file (RIFF/WAVE)');
  let format: { code: number; channels: number; rate: number; bits: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.byteLength) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.byteLength) throw bad('has a truncated fmt chunk');
      let code = view.getUint16(body, true);
      if (code === EXTENSIBLE && size >= 26 && body + 26 <= bytes.byteLength) code = view.getUint16(body + 24, true);
      format = {
        code,
        channels: view.getUint16(body + 2, true),
        rate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!format) throw bad('has its data before its fmt chunk');
      const present = bytes.byteLength - body;
      const length = STREAMED_SIZES.has(size) && present > 0 ? present : size;
      if (length > present) throw bad(`is truncated (data chunk of ${size} bytes, ${present} present)`);
      const { code, channels, bits, rate } = format;
      if (channels !== 1 && channels !== 2) throw bad(`has ${channels} channels: send mono or stereo`);
      if (rate < 1000 || rate > 384_000) throw bad(`has a sample rate of ${rate} Hz`);
      const pcm16 = code === PCM && bits === 16;
      if (!pcm16 && !(code === IEEE_FLOAT && bits === 32)) {
        const kind = code === PCM ? `${bits}-bit PCM` : code === IEEE_FLOAT ? `${bits}-bit float` : codecName(code);
        throw bad(`is ${kind}: send 16-bit PCM or 32-bit float`);
      }
      const frames = Math.floor(length / ((bits / 8) * channels));
      if (frames === 0) throw bad('has no samples');
      return { pcm16, channels, sampleRate: rate, frames, dataStart: body };
    }
    offset = body + size + (size % 2);
  }
  throw bad('has no data chunk');
}

/** Decodes a WAV file to mono (stereo is averaged, unless its channels cancel: see toMono). */
export function decodeWav(bytes: Uint8Array, where: string): DecodedAudio {
  const layout = readWavLayout(bytes, where);
  const samples = toMono(bytes, layout);
  // NaN or infinity is no sound at all; a model fed it answers nonsense (speech, to a VAD).
  if (!layout.pcm16 && !allFinite(samples))
    throw new ServingError('invalid_media', `${where}: has samples that are not finite numbers (NaN or infinity)`);
  return { samples, sampleRate: layout.sampleRate };
}

function allFinite(samples: Float32Array): boolean {
  for (let i = 0; i < samples.length; i += 1) if (!Number.isFinite(samples[i]!)) return false;
  return true;
}

/**
 * When the average of two channels keeps less than this share of their mean variance, they
 * cancel: one is (nearly) the other phase-inverted, as from a mis-wired balanced microphone.
 * Unrelated channels keep half of it, the same signal in both keeps all.
 */
const CANCELLING = 0.1;

/**
 * Mono from the file's channels: their average, or the louder channel (by variance, so a
 * DC offset does not count as loudness) when averaging would cancel them to near silence.
 */
function toMono(bytes: Uint8Array, layout: WavLayout): Float32Array {
  const { channels, frames } = layout;
  const sample = sampleReader(bytes, layout);
  const out = new Float32Array(frames);
  if (channels === 2) {
    const left = new Moments();
    const right = new Moments();
    const mix = new Moments();
    for (let frame = 0; frame < frames; frame += 1) {
      const l = sample(frame, 0);
      const r = sample(frame, 1);
      left.add(l);
      right.add(r);
      mix.add((l + r) / 2);
    }
    const channelVariance = (left.variance() + right.variance()) / 2;
    if (channelVariance > 0 && mix.variance() < CANCELLING * channelVariance) {
      const louder = left.variance() >= right.variance() ? 0 : 1;
      for (let frame = 0; frame < frames; frame += 1) out[frame] = sample(frame, louder);
      return out;
    }
  }
  for (let frame = 0; frame < frames; frame += 1) {
    let sum = 0;
    for (let channel = 0; channel < channels; channel += 1) sum += sample(frame, channel);
    out[frame] = sum / channels;
  }
  return out;
}

function sampleReader(bytes: Uint8Array, { pcm16, channels, dataStart }: WavLayout): (frame: number, channel: number) => number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return pcm16
    ? (frame, channel) => view.getInt16(dataStart + (frame * channels + channel) * 2, true) / 32768
    : (frame, channel) => view.getFloat32(dataStart + (frame * channels + channel) * 4, true);
}

/** Running mean and variance (Welford's: no cancellation on long clips with an offset). */
class Moments {
  private count = 0;
  private mean = 0;
  private squares = 0;

  add(value: number): void {
    this.count += 1;
    const delta = value - this.mean;
    this.mean += delta / this.count;
    this.squares += delta * (value - this.mean);
  }

  variance(): number {
    return this.count > 0 ? this.squares / this.count : 0;
  }
}

/** The samples less their mean: a DC offset (cheap recorders, USB microphones) moves a speech model off what it was trained on. */
export function removeDcOffset(samples: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < samples.length; i += 1) sum += samples[i]!;
  const mean = samples.length > 0 ? sum / samples.length : 0;
  if (mean === 0) return samples;
  for (let i = 0; i < samples.length; i += 1) samples[i] = samples[i]! - mean;
  return samples;
}

/** Linear-interpolation resampling (enough for speech models at 8-48 kHz). */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  const length = Math.max(1, Math.round((samples.length * to) / from));
  const out = new Float32Array(length);
  const step = from / to;
  for (let i = 0; i < length; i += 1) {
    const position = i * step;
    const left = Math.floor(position);
    const right = Math.min(left + 1, samples.length - 1);
    const weight = position - left;
    out[i] = samples[Math.min(left, samples.length - 1)]! * (1 - weight) + samples[right]! * weight;
  }
  return out;
}
