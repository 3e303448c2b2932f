import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';

/** Where a listener's certificate, key and (for client certificates) CA bundle are, in PEM. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** Set: clients must present a certificate signed by this CA (mTLS). */
  readonly caFile?: string;
}

export interface TlsSettings {
  readonly TLS_CERT_FILE?: string | undefined;
  readonly TLS_KEY_FILE?: string | undefined;
  readonly TLS_CA_FILE?: string | undefined;
  readonly TLS_RELOAD_INTERVAL_MS: number;
}

/** The files the settings name; undefined when the listener is plain HTTP. */
export function tlsFiles(settings: TlsSettings): TlsFiles | undefined {
  if (!settings.TLS_CERT_FILE || !settings.TLS_KEY_FILE) return undefined;
  return {
    certFile: settings.TLS_CERT_FILE,
    keyFile: settings.TLS_KEY_FILE,
    ...(settings.TLS_CA_FILE ? { caFile: settings.TLS_CA_FILE } : {}),
  };
}

export interface TlsMaterial {
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly ca?: Buffer;
}

/**
 * Throws unless the material makes a context: the key is the certificate's, each is PEM the
 * TLS library reads. Messages name the files, never their contents.
 */
export function checkTlsMaterial(material: TlsMaterial, files: TlsFiles): void {
  // The TLS library takes a CA bundle without a certificate in it, and then refuses every client.
  if (material.ca && files.caFile && !holdsCertificates(material.ca)) {
    throw new Error(`${files.caFile}: no certificate in the client CA bundle (PEM "BEGIN CERTIFICATE" blocks)`);
  }
  try {
    createSecureContext(material);
  } catch (error) {
    const reason = (error as { code?: string }).code ?? 'unreadable';
    throw new Error(
      `${files.certFile}, ${files.keyFile}${files.caFile ? `, ${files.caFile}` : ''}: not a usable certificate, key and CA (${reason})`,
    );
  }
}

/** At least one PEM certificate, and every one of them parses. */
function holdsCertificates(bundle: Buffer): boolean {
  const blocks = bundle.toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  try {
    for (const block of blocks) new X509Certificate(block);
  } catch {
    return false;
  }
  return blocks.length > 0;
}

/** Reads and checks the files once (start-up: a bad file stops the process with a clear message). */
export function readTlsFiles(files: TlsFiles): TlsMaterial {
  const read = (path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  const material = { key: read(files.keyFile), cert: read(files.certFile), ...(files.caFile ? { ca: read(files.caFile) } : {}) };
  checkTlsMaterial(material, files);
  return material;
}

export interface TlsWatcher {
  close(): void;
}

/**
 * Re-reads the files every `intervalMs` and calls `onChange` when their bytes differ and still
 * make a usable context. Comparing bytes rather than mtimes also catches Kubernetes' Secret
 * volumes, which swap a symlink (cert-manager's rotation) and keep no meaningful mtime. A half
 * written rotation (new certificate, old key) is reported to `onError` and picked up at the next
 * change; the listener keeps the last good material meanwhile.
 */
export function watchTlsFiles(
  files: TlsFiles,
  current: TlsMaterial,
  onChange: (material: TlsMaterial) => void,
  onError: (error: Error) => void,
  intervalMs: number,
): TlsWatcher {
  let last = current;
  let busy = false;
  const none = Buffer.alloc(0);
  const same = (a: TlsMaterial, b: TlsMaterial): boolean =>
    a.key.equals(b.key) && a.cert.equals(b.cert) && (a.ca ?? none).equals(b.ca ?? none);
  const poll = async (): Promise<void> => {
    const [key, cert, ca] = await Promise.all([
      readFile(files.keyFile),
      readFile(files.certFile),
      files.caFile ? readFile(files.caFile) : undefined,
    ]);
    const next: TlsMaterial = { key, cert, ...(ca ? { ca } : {}) };
    if (same(next, last)) return;
    last = next;
    checkTlsMaterial(next, files);
    onChange(next);
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    poll()
      .catch((error: unknown) => onError(error as Error))
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return { close: () => clearInterval(timer) };
}
