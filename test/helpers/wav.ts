/** Builds WAV files for tests: 16-bit PCM or 32-bit float, any channel count and rate. */
export function wavFile(channels: readonly Float32Array[], sampleRate: number, format: 'pcm16' | 'float32' = 'pcm16'): Uint8Array {
  const bytesPerSample = format === 'pcm16' ? 2 : 4;
  const frames = channels[0]?.length ?? 0;
  const dataSize = frames * channels.length * bytesPerSample;
  const out = new Uint8Array(44 + dataSize);
  const view = new DataView(out.buffer);
  const text = (offset: number, value: string): void => [...value].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, 36 + dataSize, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, format === 'pcm16' ? 1 : 3, true);
  view.setUint16(22, channels.length, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels.length * bytesPerSample, true);
  view.setUint16(32, channels.length * bytesPerSample, true);
  view.setUint16(34, bytesPerSample * 8, true);
  text(36, 'data');
  view.setUint32(40, dataSize, true);
  for (let frame = 0; frame < frames; frame += 1) {
    channels.forEach((channel, c) => {
      const at = 44 + (frame * channels.length + c) * bytesPerSample;
      if (format === 'pcm16') view.setInt16(at, Math.round(Math.max(-1, Math.min(1, channel[frame]!)) * 32767), true);
      else view.setFloat32(at, channel[frame]!, true);
    });
  }
  return out;
}

export const tone = (frequency: number, sampleRate: number, seconds: number, amplitude = 0.5): Float32Array =>
  Float32Array.from(
    { length: Math.round(sampleRate * seconds) },
    (_, i) => amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate),
  );

/**
 * A voice-like signal: a glottal pulse train (pitch gliding around 120 Hz) through three
 * formant resonators, changing vowel four times a second, with a syllable envelope.
 * Silero VAD calls it speech (probability near 1), which a plain tone is not.
 */
export function vowelLikeSpeech(sampleRate: number, seconds: number, amplitude = 0.5): Float32Array {
  const vowels = [
    [730, 1090, 2440],
    [270, 2290, 3010],
    [300, 870, 2240],
    [530, 1840, 2480],
    [660, 1720, 2410],
  ] as const;
  const out = new Float32Array(Math.round(sampleRate * seconds));
  const state = vowels[0].map(() => [0, 0] as [number, number]);
  let phase = 0;
  let noise = 1;
  for (let i = 0; i < out.length; i += 1) {
    const t = i / sampleRate;
    const formants = vowels[Math.floor(t * 4) % vowels.length]!;
    phase += (120 + 20 * Math.sin(2 * Math.PI * 0.7 * t) + 10 * Math.sin(2 * Math.PI * 4 * t)) / sampleRate;
    noise = (noise * 16807) % 2147483647;
    let source = 0.02 * (noise / 2147483647 - 0.5);
    if (phase >= 1) {
      phase -= 1;
      source += 1;
    }
    let sample = 0;
    formants.forEach((frequency, k) => {
      const radius = Math.exp((-Math.PI * (80 + 40 * k)) / sampleRate);
      const [y1, y2] = state[k]!;
      const y = source * (1 - radius) + 2 * radius * Math.cos((2 * Math.PI * frequency) / sampleRate) * y1 - radius * radius * y2;
      state[k] = [y, y1];
      sample += y / (k + 1);
    });
    out[i] = sample * Math.sin(Math.PI * ((t * 4) % 1)) ** 0.6;
  }
  let peak = 0;
  for (const sample of out) peak = Math.max(peak, Math.abs(sample));
  return out.map((sample) => (sample / peak) * amplitude);
}

/** Clips one after another. */
export function concatenate(...clips: Float32Array[]): Float32Array {
  const out = new Float32Array(clips.reduce((sum, clip) => sum + clip.length, 0));
  let offset = 0;
  for (const clip of clips) {
    out.set(clip, offset);
    offset += clip.length;
  }
  return out;
}
