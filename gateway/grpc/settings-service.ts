import { assertAdmin, assertMayCall } from '../auth/authorize.js';
import { changeLogSettings, logSettingsOf, type LogSettings } from '../request/log-settings.js';
import { refuseRegistration, regionNotFound, type SharedMemoryKind } from '../request/shared-memory.js';
import { refuseTraceChange, TRACE_SETTINGS } from '../request/trace-settings.js';
import type { GrpcFront } from './grpc-call.js';
import { unary } from './unary-call.js';

/** LogSettingsRequest/Response's SettingValue as proto-loader hands it over (oneofs: the chosen field's name). */
interface LogSettingValue {
  readonly parameter_choice?: 'bool_param' | 'uint32_param' | 'string_param';
  readonly bool_param?: boolean;
  readonly uint32_param?: number;
  readonly string_param?: string;
}

interface SettingsRequest<Value> {
  readonly settings?: Readonly<Record<string, Value>>;
}

/** Each setting as the plain value HTTP's JSON would carry (none chosen: undefined, refused as a wrong type). */
function plainValues(settings: Readonly<Record<string, LogSettingValue>>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(settings))
    values[key] = setting.parameter_choice ? setting[setting.parameter_choice] : undefined;
  return values;
}

function logSettingsMessage(settings: LogSettings): { settings: Record<string, LogSettingValue> } {
  const out: Record<string, LogSettingValue> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (typeof value === 'boolean') out[key] = { bool_param: value };
    else if (typeof value === 'number') out[key] = { uint32_param: value };
    else out[key] = { string_param: value };
  }
  return { settings: out };
}

/** Trace settings as TraceSettingResponse holds them: every value a list of strings. */
const TRACE_MESSAGE = {
  settings: Object.fromEntries(
    Object.entries(TRACE_SETTINGS).map(([key, value]) => [key, { value: typeof value === 'string' ? [value] : [...value] }]),
  ),
};

function sharedMemoryHandlers(front: GrpcFront, kind: SharedMemoryKind, prefix: 'System' | 'Cuda') {
  return {
    [`${prefix}SharedMemoryStatus`]: unary<{ name?: string }>(front, `${prefix}SharedMemoryStatus`, false, (_call, request) => {
      if (request.name) throw regionNotFound(kind);
      return { regions: {} };
    }),
    [`${prefix}SharedMemoryRegister`]: unary(front, `${prefix}SharedMemoryRegister`, false, () => refuseRegistration(kind)),
    [`${prefix}SharedMemoryUnregister`]: unary(front, `${prefix}SharedMemoryUnregister`, false, () => ({})),
  };
}

/**
 * Triton's logging, trace and shared-memory extensions over gRPC, with HTTP's rules and answers
 * (gateway/request/): an empty settings map reads the settings, a non-empty one changes them.
 */
export function settingsHandlers(front: GrpcFront) {
  return {
    LogSettings: unary<SettingsRequest<LogSettingValue>>(front, 'LogSettings', false, (call, request) => {
      assertAdmin(call.tenant);
      const update = plainValues(request.settings ?? {});
      if (Object.keys(update).length === 0) return logSettingsMessage(logSettingsOf(front.logger));
      const settings = changeLogSettings(front.logger, update);
      call.log.info({ logLevel: front.logger.level }, 'log level changed');
      return logSettingsMessage(settings);
    }),
    TraceSetting: unary<SettingsRequest<unknown> & { model_name?: string }>(front, 'TraceSetting', false, (call, request) => {
      const change = Object.keys(request.settings ?? {}).length > 0;
      if (change || !request.model_name) assertAdmin(call.tenant);
      else assertMayCall(call.tenant, request.model_name);
      return change ? refuseTraceChange() : TRACE_MESSAGE;
    }),
    ...sharedMemoryHandlers(front, 'system', 'System'),
    ...sharedMemoryHandlers(front, 'cuda', 'Cuda'),
  };
}
