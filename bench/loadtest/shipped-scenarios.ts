/**
 * The scenarios shipped in scenarios/. Importing them makes tsc copy each file next to the
 * compiled code (dist/bench/loadtest/scenarios/), so `--scenario NAME` works in an image that
 * holds only dist/. A unit test keeps this list and the folder in step.
 */
import fixedRate from './scenarios/fixed-rate.json' with { type: 'json' };
import image from './scenarios/image.json' with { type: 'json' };
import mixed from './scenarios/mixed.json' with { type: 'json' };
import noisyNeighbour from './scenarios/noisy-neighbour.json' with { type: 'json' };
import moderation from './scenarios/moderation.json' with { type: 'json' };
import overBudget from './scenarios/over-budget.json' with { type: 'json' };
import ramp from './scenarios/ramp.json' with { type: 'json' };
import retryStorm from './scenarios/retry-storm.json' with { type: 'json' };
import soak from './scenarios/soak.json' with { type: 'json' };
import spike from './scenarios/spike.json' with { type: 'json' };
import steady from './scenarios/steady.json' with { type: 'json' };

export const SHIPPED: readonly { readonly name: string; readonly description: string }[] = [
  steady,
  fixedRate,
  ramp,
  spike,
  soak,
  mixed,
  retryStorm,
  overBudget,
  image,
  moderation,
  noisyNeighbour,
];
