/** Image types a whole body may be (a model's one image input, a pipeline's one image input). */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;

/** WAV types a whole body may be (a pipeline's one audio input). */
export const AUDIO_TYPES = ['audio/wav'] as const;

/** Other names clients send for those types: `image/jpg` is no registered type but common, WAV has several. */
const ALIASES: Readonly<Record<string, string>> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/vnd.wave': 'audio/wav',
  'audio/x-pn-wav': 'audio/wav',
};

/** Every name the body parsers read as an image or a WAV file. */
export const MEDIA_TYPE_NAMES: readonly string[] = [...IMAGE_TYPES, ...AUDIO_TYPES, ...Object.keys(ALIASES)];

/** A Content-Type header's media type, lower case, without parameters, aliases under their usual name. */
export function bodyMediaType(header: string | undefined): string {
  const type = (header ?? '').split(';')[0]!.trim().toLowerCase();
  return ALIASES[type] ?? type;
}

export const isImageType = (type: string): boolean => (IMAGE_TYPES as readonly string[]).includes(type);
export const isAudioType = (type: string): boolean => (AUDIO_TYPES as readonly string[]).includes(type);
