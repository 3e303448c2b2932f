import { readFile } from 'node:fs/promises';

/** USER_HZ: every mainstream Linux build counts /proc times in hundredths of a second. */
const TICKS_PER_SECOND = 100;

/**
 * User + system CPU seconds of a process's main thread alone (/proc/<pid>/task/<pid>/stat):
 * for the gateway, the thread both front ends and the request pipeline run on, without the
 * worker threads' inference, which is the same whichever protocol brought the call.
 */
export async function mainThreadCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}
