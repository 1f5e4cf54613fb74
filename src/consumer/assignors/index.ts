/** The built-in partition assignors, by the names consumers pick them with. */
import { cooperativeStickyAssignor } from './cooperative-sticky-assignor';
import { rangeAssignor } from './range-assignor';
import { roundRobinAssignor } from './round-robin-assignor';

export { cooperativeStickyAssignor, withholdMovedPartitions } from './cooperative-sticky-assignor';
export { rangeAssignor } from './range-assignor';
export { roundRobinAssignor } from './round-robin-assignor';

export const Assignors = Object.freeze({
  range: rangeAssignor,
  roundRobin: roundRobinAssignor,
  cooperativeSticky: cooperativeStickyAssignor,
});
