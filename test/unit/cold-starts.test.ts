import { describe, expect, it } from 'vitest';
import { ColdStarts } from '../../gateway/queue/cold-starts.js';

function recorder(starts: ColdStarts) {
  const events: string[] = [];
  starts.listen({
    started: (model, version) => events.push(`started ${model}:${version}`),
    served: (model, version, seconds) => events.push(`served ${model}:${version} ${seconds >= 0}`),
  });
  return events;
}

describe('cold periods', () => {
  it('one period per cold queue, counted once and observed at its first answer', () => {
    const starts = new ColdStarts(0);
    const events = recorder(starts);
    const first = starts.queued('q', 'm', '1');
    const second = starts.queued('q', 'm', '1');
    starts.queued('other', 'n', '2');
    expect(events).toEqual(['started m:1', 'started n:2']);
    starts.settled('q', second, true);
    starts.settled('q', first, true);
    expect(events).toEqual(['started m:1', 'started n:2', 'served m:1 true']);
    expect([...starts.openQueues()]).toEqual(['other']);
  });

  it('a period whose requests all gave up ends unserved; the next cold request starts another', () => {
    const starts = new ColdStarts(0);
    const events = recorder(starts);
    const a = starts.queued('q', 'm', '1');
    const b = starts.queued('q', 'm', '1');
    starts.settled('q', a, false);
    expect([...starts.openQueues()]).toEqual(['q']);
    starts.settled('q', b, false);
    expect([...starts.openQueues()]).toEqual([]);
    const c = starts.queued('q', 'm', '1');
    starts.settled('q', c, true);
    expect(events).toEqual(['started m:1', 'started m:1', 'served m:1 true']);
  });

  it('right after an answer, a request the registry still calls cold opens no period', () => {
    const starts = new ColdStarts(3_600_000);
    const events = recorder(starts);
    starts.settled('q', starts.queued('q', 'm', '1'), true);
    const next = starts.queued('q', 'm', '1');
    expect(next).toBeUndefined();
    starts.settled('q', next, true);
    expect(events).toEqual(['started m:1', 'served m:1 true']);
    expect([...starts.openQueues()]).toEqual([]);
  });
});
