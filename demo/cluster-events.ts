// The cluster's own events (elections, membership views, metadata log recovery) in words.
import type { ClusterEventRecord } from 'tabka';

const RESIGN_REASONS: Record<string, string> = {
  lostMajority: 'it could no longer see a majority of the brokers',
  higherEpoch: 'a controller with a higher epoch appeared',
  newerView: 'a newer cluster view appeared',
  takeover: 'a higher broker id took over',
  leaving: 'this broker is leaving',
  metadataUnavailable: 'it could not collect the newest metadata',
};

export function describeClusterEvent({ event }: ClusterEventRecord): string {
  switch (event.type) {
    case 'controllerChanged':
      return event.controllerId === null ? `no controller (epoch ${event.epoch}): electing` : `controller is now broker ${event.controllerId} (epoch ${event.epoch})`;
    case 'becameController':
      return `this broker became the controller (epoch ${event.epoch})`;
    case 'resignedController':
      return `this broker stopped being the controller: ${RESIGN_REASONS[event.reason] ?? event.reason}`;
    case 'viewChanged':
      return `cluster members are now ${event.view.members.join(', ')}`;
    case 'messageRejected':
      return `ignored a bad message from broker ${event.from}: ${event.reason}`;
    case 'recovering':
      return `collecting the newest metadata from broker ${event.from} (up to offset ${event.target.offset})`;
    case 'ready':
      return `controller ready: metadata log ends at ${event.logEnd.offset}`;
    case 'truncated':
      return `metadata log truncated to ${event.offset} (it diverged from the controller's)`;
    case 'replaced':
      return `joined the cluster of broker ${event.from}: this broker's metadata came from a cluster founded apart, so it was replaced (${event.discarded} committed record(s) dropped)`;
    case 'metadataConflict':
      return `metadata record ${event.offset} did not apply: ${event.reason}`;
  }
}
