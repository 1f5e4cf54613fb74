/**
 * The dashboard: this tab joins the cluster as a broker, then shows what the cluster is doing
 * (polling this broker, which knows the cluster's metadata) and offers the controls to make
 * it do things. Each view and control lives in its own module; this file wires them.
 */
import { DEV_SIGNALING_SECRET, Tabka } from 'tabka';
import type { ClusterStatus, LocalBroker, ReplicaStatus, TopicMetadata } from 'tabka';
import { LineChart } from './charts';
import { ClusterPicture } from './cluster-picture';
import { describeClusterEvent } from './cluster-events';
import { GroupMemberPanel, ReaderPanel } from './consumer-controls';
import { describeError, element, h, isInternalTopic, setText, withTimeout } from './dom';
import { EventLog } from './event-log';
import { wireFaults } from './fault-controls';
import type { Ending } from './fault-controls';
import { GroupsView } from './groups-view';
import { LogsView } from './logs-view';
import { diffBrokers, diffTopics } from './metadata-diff';
import { Meter } from './metrics';
import { OffsetsTracker } from './offsets-tracker';
import { Poller } from './poller';
import { ProducerControls } from './producer-controls';
import { wireTopicForm } from './topic-controls';
import { TopicsView } from './topics-view';

const params = new URLSearchParams(location.search);
const cluster = params.get('cluster') ?? 'demo';
// The dev signaling server's public secret; a real deployment passes its own.
const secret = params.get('secret') ?? DEV_SIGNALING_SECRET;

const FAST_POLL_MS = 500;
const SLOW_POLL_MS = 1000;
const CALL_TIMEOUT_MS = 4000;

const status = element('status');
const controls = () => document.querySelectorAll<HTMLInputElement | HTMLButtonElement | HTMLSelectElement>('form input, form button, form select');

/** Until the broker is up (and after it is gone) the forms have nothing to talk to. */
function setFormsEnabled(enabled: boolean): void {
  for (const control of controls()) control.disabled = !enabled;
}

function showFacts(broker: LocalBroker): void {
  const facts: [string, string][] = [
    ['Broker id', String(broker.brokerId)],
    ['Slot', String(broker.slot)],
    ['Cluster', broker.info.cluster],
    ['IndexedDB database', broker.info.databaseName],
  ];
  element('broker').replaceChildren(...facts.map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', { 'data-fact': term }, value))));
}

function showTopicNames(topics: readonly TopicMetadata[]): void {
  const names = topics.map((t) => t.name).filter((name) => !isInternalTopic(name));
  const list = element('topic-names');
  if (list.childElementCount === names.length && names.every((name, i) => (list.children[i] as HTMLOptionElement).value === name)) return;
  list.replaceChildren(...names.map((value) => h('option', { value })));
}

function makeCharts(meter: Meter): () => void {
  const produced = new LineChart('produced', 'Produced', 'records/s');
  const consumed = new LineChart('consumed', 'Consumed', 'records/s');
  const latency = new LineChart('latency', 'Produce latency', 'ms');
  element('charts').replaceChildren(produced.element, consumed.element, latency.element);
  return () => {
    const series = meter.series(60);
    produced.update([{ name: 'produced', values: series.produced }]);
    consumed.update([{ name: 'consumed', values: series.consumed }]);
    latency.update([
      { name: 'p50', values: series.p50 },
      { name: 'p99', values: series.p99 },
    ]);
  };
}

async function main(): Promise<void> {
  setFormsEnabled(false);
  element<HTMLAnchorElement>('tour-link').href = `./tour.html${location.search}`;
  const tabka = await Tabka.join({ cluster, secret });
  const broker = tabka.broker;
  Object.assign(window, { tabka, broker });
  showFacts(broker);

  const log = new EventLog(element<HTMLOListElement>('cluster-events'));
  const meter = new Meter();
  const admin = tabka.admin();
  const picture = new ClusterPicture();
  const offsets = new OffsetsTracker(broker);
  const topicsView = new TopicsView(element('topics'), broker.brokerId, offsets);
  const groupsView = new GroupsView(element('groups'), admin);
  const logsView = new LogsView(element('logs-view'));
  const updateCharts = makeCharts(meter);
  const producer = new ProducerControls(tabka, meter, log);
  const member = new GroupMemberPanel(tabka, meter, log, (groupId) => groupsView.remember(groupId));
  const reader = new ReaderPanel(tabka, meter, log);

  let lastStatus: ClusterStatus | null = null;
  let lastTopics: TopicMetadata[] | null = null;
  const note = element('view-note');
  const reportPollError = (error: unknown) => {
    setText(note, `The last refresh failed (${describeError(error)}); retrying.`);
  };

  const refreshCluster = async () => {
    const [clusterStatus, metadata, replicas, logs] = await withTimeout(
      Promise.all([tabka.clusterStatus(), admin.fetchTopicMetadata(), broker.replicaStatus(), broker.listPartitions()]),
      CALL_TIMEOUT_MS,
      'refreshing the dashboard',
    );
    setText(note, '');
    for (const record of clusterStatus.events) log.add(record.at, 'cluster', describeClusterEvent(record));
    const now = Date.now();
    if (lastStatus) for (const change of diffBrokers(lastStatus, clusterStatus)) log.add(now, 'cluster', change);
    if (lastTopics) for (const change of diffTopics(lastTopics, metadata.topics)) log.add(now, 'metadata', change);
    lastStatus = clusterStatus;
    lastTopics = metadata.topics;
    show(clusterStatus, metadata.topics, replicas);
    logsView.update(logs);
    member.refresh();
    reader.refresh();
    updateCharts();
  };
  const show = (clusterStatus: ClusterStatus, topics: TopicMetadata[], replicas: ReplicaStatus[]) => {
    picture.update(clusterStatus, topics);
    topicsView.update(topics, replicas, new Set([...clusterStatus.liveMembers, clusterStatus.brokerId]));
    showTopicNames(topics);
  };

  const fast = new Poller(FAST_POLL_MS, refreshCluster, reportPollError).start();
  const slow = new Poller(SLOW_POLL_MS, () => groupsView.refresh(lastTopics ?? []), reportPollError).start();
  wireTopicForm(tabka, () => void refreshCluster().catch(reportPollError));

  wireFaults(tabka, log, (ending: Ending) => {
    fast.stop();
    slow.stop();
    producer.stopStream();
    const reason = ending === 'left' ? 'this broker left the cluster' : 'this broker crashed';
    member.abandon(reason);
    reader.abandon(reason);
    setFormsEnabled(false);
    note.textContent = `${reason}: the views show the last state seen. Reload to start this broker again.`;
    document.body.dataset.ended = ending;
  });

  setFormsEnabled(true);
  element<HTMLButtonElement>('leave').disabled = false;
  element<HTMLButtonElement>('crash').disabled = false;
  status.textContent = 'running';
}

// Forms must never submit the page, even before the broker is up to handle them.
for (const form of document.forms) form.addEventListener('submit', (event) => event.preventDefault());

main().catch((error: unknown) => {
  status.textContent = `failed: ${describeError(error)}`;
  status.classList.add('error');
});
