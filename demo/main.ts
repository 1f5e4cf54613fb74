import { DEV_SIGNALING_SECRET, Tabka, TabkaError, decodeRecordBatch, encodeRecordBatch } from 'tabka';
import type { ClusterStatus, LocalBroker, PartitionSummary, ReplicaStatus, TopicMetadata } from 'tabka';

const params = new URLSearchParams(location.search);
const cluster = params.get('cluster') ?? 'demo';
// The dev signaling server's public secret; a real deployment passes its own.
const secret = params.get('secret') ?? DEV_SIGNALING_SECRET;
const text = new TextEncoder();

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id}`);
  return found as T;
}

function showFacts(broker: LocalBroker): void {
  const facts: [string, string][] = [
    ['Broker id', String(broker.brokerId)],
    ['Slot', String(broker.slot)],
    ['Cluster', broker.info.cluster],
    ['IndexedDB database', broker.info.databaseName],
  ];
  element('broker').replaceChildren(
    ...facts.map(([term, value]) => {
      const row = document.createElement('div');
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = term;
      dd.textContent = value;
      dd.dataset.fact = term;
      row.append(dt, dd);
      return row;
    }),
  );
}

function showPartitions(partitions: PartitionSummary[]): void {
  const body = element('partitions');
  if (partitions.length === 0) {
    body.innerHTML = '<tr><td colspan="7">no partitions yet</td></tr>';
    return;
  }
  body.replaceChildren(
    ...partitions.map((p) => {
      const row = document.createElement('tr');
      for (const cell of [p.topic, p.partition, p.logStartOffset, p.logEndOffset, p.batchCount, p.sizeBytes, p.leaderEpoch]) {
        const td = document.createElement('td');
        td.textContent = String(cell);
        row.append(td);
      }
      return row;
    }),
  );
}

function describeEvent({ event }: ClusterStatus['events'][number]): string {
  switch (event.type) {
    case 'controllerChanged':
      return event.controllerId === null ? `no controller (epoch ${event.epoch})` : `controller is now ${event.controllerId} (epoch ${event.epoch})`;
    case 'becameController':
      return `this broker became the controller (epoch ${event.epoch})`;
    case 'resignedController':
      return `this broker stopped being the controller: ${event.reason}`;
    case 'viewChanged':
      return `cluster members are now ${event.view.members.join(', ')}`;
    case 'messageRejected':
      return `ignored a bad message from ${event.from}: ${event.reason}`;
    case 'recovering':
      return `collecting the newest metadata from broker ${event.from} (up to offset ${event.target.offset})`;
    case 'ready':
      return `controller ready: metadata log ends at ${event.logEnd.offset}`;
    case 'truncated':
      return `metadata log truncated to ${event.offset} (it diverged from the controller's)`;
    case 'metadataConflict':
      return `metadata record ${event.offset} did not apply: ${event.reason}`;
  }
}

function showCluster(status: ClusterStatus): void {
  element('controller').textContent = status.controllerId === null ? 'electing…' : String(status.controllerId);
  element('controller-epoch').textContent = String(status.controllerEpoch);
  const live = new Set([...status.liveMembers, status.brokerId]);
  const members = status.members.length ? status.members : [status.brokerId];
  element('members').replaceChildren(
    ...members.map((id) => {
      const item = document.createElement('li');
      const roles = [id === status.brokerId ? 'this tab' : '', id === status.controllerId ? 'controller' : '', live.has(id) ? '' : 'unreachable'];
      item.textContent = [String(id), ...roles.filter(Boolean)].join(' · ');
      item.classList.toggle('controller', id === status.controllerId);
      item.classList.toggle('self', id === status.brokerId);
      item.classList.toggle('down', !live.has(id));
      item.dataset.brokerId = String(id);
      return item;
    }),
  );
  element('cluster-events').replaceChildren(
    ...status.events
      .slice(-30)
      .reverse()
      .map((record) => {
        const item = document.createElement('li');
        item.textContent = `${new Date(record.at).toLocaleTimeString()} ${describeEvent(record)}`;
        return item;
      }),
  );
}

function showTopics(topics: TopicMetadata[], replicas: ReplicaStatus[]): void {
  const body = element('topics');
  if (topics.length === 0) {
    body.innerHTML = '<tr><td colspan="7">no topics yet</td></tr>';
    return;
  }
  const here = new Map(replicas.map((r) => [`${r.topic}/${r.partition}`, r]));
  body.replaceChildren(
    ...topics.flatMap((topic) =>
      topic.partitions.map((p) => {
        const row = document.createElement('tr');
        row.dataset.topic = topic.name;
        row.dataset.partition = String(p.partitionId);
        const leader = p.leader < 0 ? 'none (offline)' : String(p.leader);
        const replica = here.get(`${topic.name}/${p.partitionId}`);
        const local = replica ? `${replica.logEndOffset} / ${replica.highWatermark}` : 'not a replica here';
        for (const cell of [topic.name, p.partitionId, leader, p.replicas.join(', '), p.isr.join(', '), p.leaderEpoch, local]) {
          const td = document.createElement('td');
          td.textContent = String(cell);
          row.append(td);
        }
        return row;
      }),
    ),
  );
}

function report(message: string, isError = false): void {
  const output = element('result');
  output.textContent = message;
  output.classList.toggle('error', isError);
}

function describeError(error: unknown): string {
  if (error instanceof TabkaError) return `${error.name} (${error.code}): ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function onSubmit(id: string, handler: (form: FormData) => Promise<string>, refresh: () => Promise<void>): void {
  element<HTMLFormElement>(id).addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    handler(data)
      .then((message) => report(message))
      .catch((error: unknown) => report(describeError(error), true))
      .finally(() => void refresh());
  });
}

async function main(): Promise<void> {
  const tabka = await Tabka.join({ cluster, secret });
  const broker: LocalBroker = tabka.broker;
  Object.assign(window, { tabka, broker });
  showFacts(broker);
  const refresh = async () => {
    showPartitions(await broker.listPartitions());
    showCluster(await tabka.clusterStatus());
    showTopics((await tabka.admin().fetchTopicMetadata()).topics, await broker.replicaStatus());
  };
  await refresh();
  setInterval(() => void refresh(), 500);

  onSubmit('topic-form', async (form) => {
    const topic = String(form.get('topic'));
    const created = await tabka.admin().createTopics({
      topics: [{ topic, numPartitions: Number(form.get('partitions')), replicationFactor: Number(form.get('replicationFactor')) }],
    });
    return created ? `created topic ${topic}` : `topic ${topic} already exists`;
  }, refresh);

  const producer = tabka.producer();
  onSubmit('produce-form', async (form) => {
    const topic = String(form.get('topic'));
    const count = Number(form.get('count'));
    const keys = Number(form.get('keys'));
    const acks = Number(form.get('acks')) as -1 | 0 | 1;
    const messages = Array.from({ length: count }, (_, i) => ({
      key: keys > 0 ? `key-${i % keys}` : null,
      value: `record ${i} from broker ${broker.brokerId} at ${new Date().toISOString()}`,
    }));
    const started = performance.now();
    const sent = await producer.send({ topic, messages, acks });
    const where = sent.map((m) => `partition ${m.partition} from offset ${m.baseOffset}`).join(', ');
    return `sent ${count} records in ${Math.round(performance.now() - started)} ms: ${where}`;
  }, refresh);

  onSubmit('consume-form', async (form) => {
    const topic = String(form.get('topic'));
    const consumer = tabka.consumer({ groupId: `demo-${broker.brokerId}` });
    await consumer.subscribe({ topic, fromBeginning: true });
    const lines: string[] = [];
    let total = 0;
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        total++;
        if (lines.length < 20) lines.push(`p${partition} @${message.offset}: ${new TextDecoder().decode(message.value ?? undefined)}`);
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await consumer.stop();
    return `${total} records read (the first 20 shown):\n${lines.join('\n') || 'none'}`;
  }, refresh);

  onSubmit('create-form', async (form) => {
    const topic = String(form.get('topic'));
    const count = Number(form.get('partitions'));
    for (let partition = 0; partition < count; partition++) await broker.createPartition(topic, partition);
    return `created ${topic} partitions 0..${count - 1}`;
  }, refresh);

  onSubmit('append-form', async (form) => {
    const count = Number(form.get('count'));
    const now = Date.now();
    const records = Array.from({ length: count }, (_, i) => ({
      key: text.encode(`key-${i}`),
      value: text.encode(`event ${i} from broker ${broker.brokerId} at ${new Date(now).toISOString()}`),
      timestamp: now,
    }));
    const result = await broker.append(String(form.get('topic')), Number(form.get('partition')), encodeRecordBatch(records));
    return `appended offsets ${result.baseOffset}..${result.lastOffset}`;
  }, refresh);

  onSubmit('read-form', async (form) => {
    const offset = Number(form.get('offset'));
    const { batches, logEndOffset } = await broker.read(String(form.get('topic')), Number(form.get('partition')), offset, { maxBytes: 64 * 1024 });
    const lines: string[] = [];
    for (const batch of batches) {
      for (const record of decodeRecordBatch(batch).records) {
        if (record.offset >= offset && lines.length < 20) lines.push(`${record.offset}: ${new TextDecoder().decode(record.value ?? undefined)}`);
      }
    }
    return `${lines.join('\n') || 'no records'}\n(log end offset ${logEndOffset})`;
  }, refresh);

  element('status').textContent = 'running';
}

main().catch((error: unknown) => {
  element('status').textContent = `failed: ${describeError(error)}`;
  element('status').classList.add('error');
});
