import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { SERVING_NODE_FLAGS } from '../../workers/runtime/serving-node-flags.js';
import { render, type Manifest } from '../helpers/helm.js';

/** Every way a serving process is started carries the same node flags, just before its script. */
const ROOT = join(import.meta.dirname, '../..');
const ENTRY = /^dist\/(gateway\/server|workers\/main|workers\/tuning\/tune-cli)\.js$/;

/** The flags `node` is given before an entry script, or undefined where the command starts none. */
function flagsBeforeEntry(argv: readonly string[]): string[] | undefined {
  const entry = argv.findIndex((arg) => ENTRY.test(arg));
  if (argv[0] !== 'node' || entry < 0) return undefined;
  return argv.slice(1, entry);
}

describe('serving node flags', () => {
  it('npm start, npm run worker and npm run tune pass them', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['start', 'worker', 'tune']) {
      const argv = scripts[name]!.split(/\s+/).filter((word) => !word.includes('='));
      const flags = scripts[name]!.split(/\s+/).filter((word) => word.startsWith('--'));
      expect(
        argv.some((word) => ENTRY.test(word)),
        name,
      ).toBe(true);
      expect(flags, name).toEqual([...SERVING_NODE_FLAGS]);
    }
  });

  it("every image's CMD passes them", () => {
    const dockerfiles = readdirSync(join(ROOT, 'docker')).filter((file) => file.endsWith('.Dockerfile'));
    let commands = 0;
    for (const file of dockerfiles) {
      const parsed = DockerfileParser.parse(readFileSync(join(ROOT, 'docker', file), 'utf8'));
      for (const cmd of parsed.getInstructions().filter((instruction) => instruction.getKeyword() === 'CMD')) {
        const argv = JSON.parse(cmd.getArgumentsContent() ?? '[]') as string[];
        const flags = flagsBeforeEntry(argv);
        if (flags === undefined) continue;
        commands += 1;
        expect(flags, `${file}: ${argv.join(' ')}`).toEqual([...SERVING_NODE_FLAGS]);
      }
    }
    expect(commands).toBeGreaterThanOrEqual(4);
  });

  it("the chart's gateway and worker containers pass them", () => {
    const manifests: Manifest[] = render([{ redis: { bundled: { enabled: true } } }]);
    const commands = manifests
      .filter((manifest) => manifest.kind === 'Deployment')
      .flatMap((manifest) => {
        const spec = (manifest as unknown as { spec: { template: { spec: { containers: { command?: string[] }[] } } } }).spec;
        return spec.template.spec.containers.map((container) => container.command ?? []);
      })
      .filter((argv) => flagsBeforeEntry(argv) !== undefined);
    expect(commands.length).toBeGreaterThanOrEqual(2);
    for (const argv of commands) expect(flagsBeforeEntry(argv), argv.join(' ')).toEqual([...SERVING_NODE_FLAGS]);
  });
});
