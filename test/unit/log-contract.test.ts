import { describe, it } from 'vitest';
import { StorageError } from '../../src/errors';
import type { LogStore } from '../../src/log/log-store';
import { MemoryLogStore } from '../../src/log/memory-log-store';
import { logContract } from '../contract/log-contract';
import type { LogHarness } from '../contract/log-contract';

/** The in-memory store, with the write failure a full disk would cause injected on demand. */
function memoryHarness(): LogHarness {
  const data = new MemoryLogStore();
  let failNext = false;
  const failing = (store: MemoryLogStore): LogStore =>
    new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'write' && failNext) {
          failNext = false;
          return () => Promise.reject(new StorageError('quota', 'injected QuotaExceededError'));
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return {
    openStore: async () => failing(data.reopen()),
    failNextWrite: () => {
      failNext = true;
    },
  };
}

describe('partition log contract (in-memory store)', () => {
  for (const contractCase of logContract) {
    it(contractCase.name, () => contractCase.run(memoryHarness()));
  }
});
