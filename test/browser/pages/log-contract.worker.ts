/// <reference lib="webworker" />
// Runs the partition log contract inside a real Web Worker over real IndexedDB.
import { expose } from 'comlink';
import { IdbLogStore } from '../../../src/log/idb-log-store';
import { logContract } from '../../contract/log-contract';
import type { LogHarness } from '../../contract/log-contract';
import type { CaseOutcome, ContractRunner } from './contract-runner';
import { announceWorkerReady } from '../../../src/broker/worker-ready';

const realPut = IDBObjectStore.prototype.put;

/** A full disk, the way IndexedDB reports it: the next put throws QuotaExceededError. */
function failNextPut(): void {
  IDBObjectStore.prototype.put = function failingPut(this: IDBObjectStore): IDBRequest<IDBValidKey> {
    IDBObjectStore.prototype.put = realPut;
    throw new DOMException('injected: storage quota exceeded', 'QuotaExceededError');
  };
}

function idbHarness(databaseName: string): LogHarness {
  return { openStore: () => IdbLogStore.open(databaseName), failNextWrite: failNextPut };
}

let runs = 0;

const runner: ContractRunner = {
  async names() {
    return logContract.map((contractCase) => contractCase.name);
  },
  async run(name): Promise<CaseOutcome> {
    const contractCase = logContract.find((candidate) => candidate.name === name);
    if (!contractCase) return { ok: false, error: `no contract case named ${name}` };
    try {
      await contractCase.run(idbHarness(`log-contract-${Date.now()}-${(runs += 1)}`));
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) };
    } finally {
      IDBObjectStore.prototype.put = realPut;
    }
  },
};

expose(runner);
announceWorkerReady(self);
