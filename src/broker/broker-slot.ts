import { BrokerSlotError } from '../errors';

/**
 * A broker slot is a tab's claim on one broker identity and its database, held with an
 * exclusive Web Lock for as long as the holder (the broker's worker) lives. The browser frees
 * the lock when the tab closes or crashes, so a reloaded or new tab can take the slot and find
 * its logs, like a Kafka broker restarting on its log.dirs; two live tabs never share one.
 */
export interface BrokerSlot {
  readonly slot: number;
  readonly databaseName: string;
  release(): void;
}

export interface ClaimOptions {
  readonly cluster: string;
  /** Tried first: the slot this tab held before a reload. */
  readonly preferredSlot?: number;
  readonly maxSlots?: number;
  /**
   * How long to wait for the preferred slot when it is busy. A reloading tab's old worker may
   * still hold it for a moment; a duplicated tab's twin holds it for good.
   */
  readonly preferredSlotWaitMs?: number;
  readonly locks?: LockManager;
}

export const DEFAULT_MAX_SLOTS = 64;
export const DEFAULT_PREFERRED_SLOT_WAIT_MS = 2000;

export function slotLockName(cluster: string, slot: number): string {
  return `tabka/${cluster}/slot/${slot}`;
}

export function slotDatabaseName(cluster: string, slot: number): string {
  return `tabka/${cluster}/broker-${slot}`;
}

export async function claimBrokerSlot(options: ClaimOptions): Promise<BrokerSlot> {
  const locks = options.locks ?? globalThis.navigator?.locks;
  if (!locks) throw new BrokerSlotError('this browser has no Web Locks API (navigator.locks)');
  const maxSlots = options.maxSlots ?? DEFAULT_MAX_SLOTS;
  const claimed = (slot: number, release: () => void): BrokerSlot => ({
    slot,
    databaseName: slotDatabaseName(options.cluster, slot),
    release,
  });
  const preferred = options.preferredSlot;
  if (preferred !== undefined && isSlot(preferred, maxSlots)) {
    const name = slotLockName(options.cluster, preferred);
    const waitMs = options.preferredSlotWaitMs ?? DEFAULT_PREFERRED_SLOT_WAIT_MS;
    const release = (await tryLock(locks, name)) ?? (await waitForLock(locks, name, waitMs));
    if (release) return claimed(preferred, release);
  }
  for (let slot = 0; slot < maxSlots; slot++) {
    if (slot === preferred) continue;
    const release = await tryLock(locks, slotLockName(options.cluster, slot));
    if (release) return claimed(slot, release);
  }
  throw new BrokerSlotError(`all ${maxSlots} slots of cluster "${options.cluster}" are held by live tabs`);
}

function isSlot(slot: number, maxSlots: number): boolean {
  return Number.isInteger(slot) && slot >= 0 && slot < maxSlots;
}

/** Resolves to a release function once the lock is held, or null if another holder has it. */
function tryLock(locks: LockManager, name: string): Promise<(() => void) | null> {
  return holdLock(locks, name, { mode: 'exclusive', ifAvailable: true });
}

/** Like tryLock, but queues for the lock up to `waitMs` before giving up. */
async function waitForLock(locks: LockManager, name: string, waitMs: number): Promise<(() => void) | null> {
  if (waitMs <= 0) return null;
  try {
    return await holdLock(locks, name, { mode: 'exclusive', signal: AbortSignal.timeout(waitMs) });
  } catch (error) {
    if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) return null;
    throw error;
  }
}

function holdLock(locks: LockManager, name: string, options: LockOptions): Promise<(() => void) | null> {
  return new Promise((resolve, reject) => {
    locks
      .request(name, options, (lock) => {
        if (!lock) {
          resolve(null);
          return undefined;
        }
        // The lock is held until this promise settles.
        return new Promise<void>((release) => resolve(() => release()));
      })
      .catch(reject);
  });
}
