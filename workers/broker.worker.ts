/// <reference lib="webworker" />
// The broker's Web Worker: everything stateful about a broker lives here, off the page's thread.
import { expose } from 'comlink';
import '../src/broker/comlink-errors';
import { BrokerService } from '../src/broker/broker-service';
import { announceWorkerReady } from '../src/broker/worker-ready';

expose(new BrokerService());
announceWorkerReady(self);
