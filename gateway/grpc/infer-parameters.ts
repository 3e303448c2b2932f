/** A map<string, InferParameter> as proto-loader decodes it (oneofs: the chosen field's name). */
export type GrpcParameters = Readonly<Record<string, GrpcParameter>>;

export interface GrpcParameter {
  readonly parameter_choice?: string;
  readonly bool_param?: boolean;
  readonly int64_param?: string;
  readonly string_param?: string;
  readonly double_param?: number;
  readonly uint64_param?: string;
}

/** Parameters as plain values, the shape the HTTP codec checks them in. */
export function parameterValues(parameters: GrpcParameters | undefined): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, parameter] of Object.entries(parameters ?? {})) {
    const choice = parameter.parameter_choice;
    const value = choice ? (parameter as Record<string, unknown>)[choice] : undefined;
    values[key] = choice === 'int64_param' || choice === 'uint64_param' ? Number(value) : value;
  }
  return values;
}
