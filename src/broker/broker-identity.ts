import type { LogStore } from '../log/log-store';

const BROKER_ID_KEY = 'brokerId';
const MAX_BROKER_ID = 2 ** 31 - 1;

/**
 * The broker id belongs to the slot's database: made once, at random (ids must not collide
 * across browsers that share a cluster, and the bully election compares them), then kept
 * forever, the way Kafka keeps broker.id in meta.properties beside its logs.
 */
export async function loadOrCreateBrokerId(store: LogStore, random: () => number = Math.random): Promise<number> {
  const stored = await store.getMeta(BROKER_ID_KEY);
  if (typeof stored === 'number' && Number.isSafeInteger(stored) && stored > 0) return stored;
  const brokerId = 1 + Math.floor(random() * (MAX_BROKER_ID - 1));
  await store.putMeta(BROKER_ID_KEY, brokerId);
  return brokerId;
}
