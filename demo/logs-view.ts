// This broker's partition logs as stored in its IndexedDB: every replica it hosts, and the
// metadata log (__cluster_metadata), which every broker keeps a copy of.
import type { PartitionSummary } from 'tabka';
import { h, isInternalTopic } from './dom';
import { dataRow, dataTable, noteRow } from './table';
import type { Column } from './table';

const LOG_COLUMNS: readonly Column[] = [
  { key: 'topic', label: 'Topic' },
  { key: 'partition', label: 'Partition' },
  { key: 'log-start', label: 'Log start' },
  { key: 'log-end', label: 'Log end' },
  { key: 'batches', label: 'Batches' },
  { key: 'bytes', label: 'Bytes' },
  { key: 'leader-epoch', label: 'Leader epoch' },
];

export class LogsView {
  private readonly body: HTMLTableSectionElement;

  constructor(host: HTMLElement) {
    const { table, body } = dataTable(LOG_COLUMNS, "This broker's partition logs", 'logs');
    table.id = 'logs';
    body.id = 'partitions';
    body.append(noteRow(LOG_COLUMNS, 'no partitions yet'));
    host.replaceChildren(h('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': 'Partition logs' }, table));
    this.body = body;
  }

  update(partitions: readonly PartitionSummary[]): void {
    if (partitions.length === 0) return;
    // The cluster's own logs first: the metadata log is where everything else starts.
    const sorted = [...partitions].sort((a, b) => Number(isInternalTopic(b.topic)) - Number(isInternalTopic(a.topic)) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
    this.body.replaceChildren(
      ...sorted.map((p) =>
        dataRow(
          LOG_COLUMNS,
          { topic: p.topic, partition: p.partition, 'log-start': p.logStartOffset, 'log-end': p.logEndOffset, batches: p.batchCount, bytes: p.sizeBytes, 'leader-epoch': p.leaderEpoch },
          { 'data-topic': p.topic, 'data-partition': p.partition },
        ),
      ),
    );
  }
}
