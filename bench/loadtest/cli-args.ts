import { parseArgs } from 'node:util';
import { OptionsError, PROTOCOLS, type LoadProtocol, type LoadTestOptions } from './run-load-test.js';

export const USAGE = `usage: npm run loadtest -- --target URL --scenario NAME|FILE [--key KEY] [--duration S] [--out DIR] [--compare previous.json]
       [--protocol http|grpc|grpc-stream] [--grpc-target HOST:PORT]

  --target    the gateway's base URL, e.g. http://127.0.0.1:8080
  --scenario  a shipped scenario (bench/loadtest/scenarios/NAME.json) or a path to a scenario file
  --key       API key, sent as Authorization: Bearer KEY
  --duration  seconds, overriding the scenario's duration_s
  --out       folder for report.json, report.md and report.html (default loadtest-report)
  --compare   an earlier run's report.json: print the change against it
  --protocol  http (default), grpc (unary ModelInfer) or grpc-stream (ModelStreamInfer, a stream per connection)
  --grpc-target  the gateway's gRPC address (default: the target's host, port 8001)

Exit status: 0 every SLO met, 1 an SLO violated, 2 bad arguments or an unusable target.`;

/** argv (without node and the script) → options; every mistake is an OptionsError that says which. */
export function parseCliArgs(argv: readonly string[]): LoadTestOptions & { readonly outDir: string } {
  // biome-ignore lint/suspicious/noImplicitAnyLet: typed by the assignment below, from parseArgs's options
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        target: { type: 'string' },
        scenario: { type: 'string' },
        key: { type: 'string' },
        duration: { type: 'string' },
        out: { type: 'string' },
        compare: { type: 'string' },
        protocol: { type: 'string' },
        'grpc-target': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new OptionsError((error as Error).message);
  }
  if (values.target === undefined) throw new OptionsError('--target URL is required');
  if (values.scenario === undefined) throw new OptionsError('--scenario NAME is required');
  let durationS: number | undefined;
  if (values.duration !== undefined) {
    durationS = Number(values.duration);
    if (!/^\d+(\.\d+)?$/.test(values.duration) || !(durationS > 0))
      throw new OptionsError(`--duration must be a positive number of seconds, not "${values.duration}"`);
  }
  const protocol = values.protocol ?? 'http';
  if (!(PROTOCOLS as readonly string[]).includes(protocol))
    throw new OptionsError(`--protocol is one of ${PROTOCOLS.join(', ')}, not "${protocol}"`);
  return {
    target: values.target,
    protocol: protocol as LoadProtocol,
    ...(values['grpc-target'] === undefined ? {} : { grpcTarget: values['grpc-target'] }),
    scenario: values.scenario,
    outDir: values.out ?? 'loadtest-report',
    ...(values.key === undefined ? {} : { key: values.key }),
    ...(durationS === undefined ? {} : { durationS }),
    ...(values.compare === undefined ? {} : { compareWith: values.compare }),
  };
}
