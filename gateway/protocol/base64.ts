/**
 * Base64 as callers send bytes in JSON (KServe V1 `{"b64": ...}`, Task API media): Buffer.from
 * decodes anything, skipping what is not base64 ("!!!" is zero bytes), so a mangled value would
 * reach the model as other bytes. This one refuses it instead.
 */

const OUTSIDE_ALPHABET = /[^A-Za-z0-9+/_=-]/;

/** Why `text` is not base64 (the standard or URL-safe alphabet, `=` padding optional), or undefined when it is. */
export function base64Problem(text: string): string | undefined {
  const bad = text.search(OUTSIDE_ALPHABET);
  if (bad >= 0) return `character ${bad} is not in the base64 alphabet (no whitespace either)`;
  const padding = text.indexOf('=');
  if (padding >= 0 && (text.length - padding > 2 || text.length % 4 !== 0 || /[^=]/.test(text.slice(padding))))
    return `the "=" padding at character ${padding} is not at the end of a whole 4-character group`;
  if (padding < 0 && text.length % 4 === 1) return `its ${text.length} characters leave one over, which encodes no byte`;
  return undefined;
}

/** The bytes `text` encodes; undefined when it is not base64 (base64Problem says why). */
export function decodeBase64(text: string): Buffer | undefined {
  return base64Problem(text) === undefined ? Buffer.from(text, 'base64') : undefined;
}
