import { createHash } from 'node:crypto';
import { CONSOLE_PAGE } from './console-page.js';

/** The CSP source for an inline block of the page, by the hash of its text. */
function inlineHash(tag: 'script' | 'style'): string {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(CONSOLE_PAGE);
  if (!match) throw new Error(`the console page has no <${tag}> block`);
  return `'sha256-${createHash('sha256').update(match[1]!, 'utf8').digest('base64')}'`;
}

/**
 * The console page's security headers. The page is one constant, so its inline script and
 * style are allowed by hash: nothing injected into it could run, it may only call its own
 * origin, and no other site may frame it (clickjacking the review buttons).
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'none'",
    `script-src ${inlineHash('script')}`,
    `style-src ${inlineHash('style')}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
