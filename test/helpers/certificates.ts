import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  readonly key: Buffer;
  readonly cert: Buffer;
}

/** A new unencrypted P-256 key. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/**
 * Certificates made at test time by Debian's openssl (P-256, two days): a CA that signs server
 * certificates (localhost and 127.0.0.1) and client certificates, each with the serial asked for.
 */
export class TestCertificates {
  readonly dir = mkdtempSync(join(tmpdir(), 'switchyard-tls-'));
  readonly ca: Pem;

  constructor(readonly name = 'switchyard-test-ca') {
    this.openssl(['req', '-x509', ...NEW_KEY, '-days', '2', '-subj', `/CN=${name}`, '-keyout', 'ca.key', '-out', 'ca.crt']);
    this.ca = this.pem('ca');
  }

  /** A server certificate for localhost and 127.0.0.1. */
  server(serial: number): Pem {
    return this.issue(`server-${serial}`, serial, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  }

  client(serial: number): Pem {
    return this.issue(`client-${serial}`, serial, 'extendedKeyUsage=clientAuth\n');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private issue(name: string, serial: number, extensions: string): Pem {
    writeFileSync(join(this.dir, `${name}.ext`), extensions);
    this.openssl(['req', ...NEW_KEY, '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
    const signed = ['-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(serial), '-days', '2', '-extfile', `${name}.ext`];
    this.openssl(['x509', '-req', '-in', `${name}.csr`, ...signed, '-out', `${name}.crt`]);
    return this.pem(name);
  }

  private pem(name: string): Pem {
    return { key: readFileSync(join(this.dir, `${name}.key`)), cert: readFileSync(join(this.dir, `${name}.crt`)) };
  }

  private openssl(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }
}
