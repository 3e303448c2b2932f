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
  Float32Array.from({ length: Math.round(sampleRate * seconds) }, (_, i) => amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate));
