/**
 * Topics and their partitions: leader, replicas, ISR and the offsets that matter (log start,
 * high watermark, log end), with followers' lag drawn where this tab can know it: a leader
 * knows each follower's fetch position; a follower knows its own log end.
 */
import type { ReplicaStatus, TopicMetadata } from 'tabka';
import { h, isInternalTopic } from './dom';
import { lagBar } from './lag-bar';
import type { OffsetsTracker } from './offsets-tracker';
import { dataRow, dataTable } from './table';
import type { Column } from './table';

const STALE_MS = 3000;

const PARTITION_COLUMNS: readonly Column[] = [
  { key: 'partition', label: 'Partition' },
  { key: 'leader', label: 'Leader' },
  { key: 'replicas', label: 'Replicas (lag)' },
  { key: 'isr', label: 'ISR' },
  { key: 'log-start', label: 'Log start' },
  { key: 'hw', label: 'High watermark' },
  { key: 'log-end', label: 'Log end' },
  { key: 'here', label: 'This broker' },
];

interface TopicBlock {
  readonly section: HTMLElement;
  readonly summary: HTMLElement;
  readonly body: HTMLTableSectionElement;
}

export class TopicsView {
  private readonly blocks = new Map<string, TopicBlock>();
  private readonly empty = h('p', { class: 'empty' }, 'No topics yet: create one below.');

  constructor(
    private readonly host: HTMLElement,
    private readonly brokerId: number,
    private readonly offsets: OffsetsTracker,
  ) {
    host.replaceChildren(this.empty);
  }

  update(topics: readonly TopicMetadata[], replicas: readonly ReplicaStatus[], live: ReadonlySet<number>): void {
    // Internal topics last: they are the cluster's bookkeeping, shown because they teach.
    const sorted = [...topics].sort((a, b) => Number(isInternalTopic(a.name)) - Number(isInternalTopic(b.name)) || a.name.localeCompare(b.name));
    this.offsets.refresh(sorted.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionId }))));
    const here = new Map(replicas.map((r) => [`${r.topic}-${r.partition}`, r]));
    const wanted = sorted.map((topic) => {
      const block = this.block(topic.name);
      const rf = topic.partitions[0]?.replicas.length ?? 0;
      const minIsr = topic.configs['min.insync.replicas'] ?? '1';
      block.summary.textContent = `${topic.partitions.length} partition(s) · replication factor ${rf} · min.insync.replicas ${minIsr}`;
      block.body.replaceChildren(...topic.partitions.map((p) => this.row(topic.name, p, here.get(`${topic.name}-${p.partitionId}`), live)));
      return block.section;
    });
    for (const [name, block] of this.blocks) {
      if (topics.some((t) => t.name === name)) continue;
      this.blocks.delete(name);
      block.section.remove();
    }
    const current = [...this.host.children];
    const next = wanted.length ? wanted : [this.empty];
    // Re-attach only when the order changed: moving a node would take keyboard focus off it.
    if (current.length !== next.length || current.some((node, i) => node !== next[i])) this.host.replaceChildren(...next);
  }

  private block(name: string): TopicBlock {
    const existing = this.blocks.get(name);
    if (existing) return existing;
    const internal = isInternalTopic(name);
    const summary = h('span', { class: 'topic-summary' });
    const { table, body } = dataTable(PARTITION_COLUMNS, `Partitions of ${name}`, 'partitions');
    const section = h(
      'section',
      { class: internal ? 'topic internal' : 'topic', 'data-topic': name, 'aria-label': `Topic ${name}` },
      h('h3', {}, name, internal ? h('span', { class: 'badge', title: "Kafka's own bookkeeping" }, 'internal') : null, ' ', summary),
      h('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': `Partitions of ${name}` }, table),
    );
    const block = { section, summary, body };
    this.blocks.set(name, block);
    return block;
  }

  private row(topic: string, p: TopicMetadata['partitions'][number], local: ReplicaStatus | undefined, live: ReadonlySet<number>): HTMLTableRowElement {
    const known = this.offsets.get(topic, p.partitionId);
    // The leader's own replica status is the freshest source when this tab leads.
    const leading = local?.role === 'leader' ? local : undefined;
    const offsets = leading ?? known?.offsets;
    const stale = !leading && (!known || Date.now() - known.at > STALE_MS);
    const leaderEnd = offsets?.logEndOffset;

    const chips = p.replicas.map((id) => {
      const classes = ['replica', id === p.leader ? 'leader' : '', p.isr.includes(id) ? 'in-isr' : 'out-of-isr', live.has(id) ? '' : 'down', id === this.brokerId ? 'self' : ''];
      const chip = h('span', { class: classes.filter(Boolean).join(' '), 'data-replica': id }, h('span', { class: 'replica-id' }, String(id)));
      if (id === p.leader) chip.append(h('span', { class: 'replica-role' }, 'leader'));
      const lag = this.lagOf(id, p.leader, leading, local, leaderEnd);
      if (lag !== undefined) chip.append(lagBar(lag, `broker ${id} is ${lag} records behind the leader's log end`));
      return chip;
    });

    const row = dataRow(
      PARTITION_COLUMNS,
      {
        partition: p.partitionId,
        leader: p.leader < 0 ? 'none (offline)' : String(p.leader),
        replicas: h('span', { class: 'replicas' }, ...chips),
        isr: p.isr.join(', '),
        'log-start': offsets ? offsets.logStartOffset : '…',
        hw: offsets ? offsets.highWatermark : '…',
        'log-end': offsets ? offsets.logEndOffset : '…',
        here: local ? `${local.role}: log end ${local.logEndOffset}, high watermark ${local.highWatermark}` : 'no replica here',
      },
      { 'data-topic': topic, 'data-partition': p.partitionId },
    );
    row.classList.toggle('offline', p.leader < 0);
    row.classList.toggle('stale', stale && offsets !== undefined);
    return row;
  }

  /** How far a replica is behind the leader's log end, where this tab can know it. */
  private lagOf(id: number, leader: number, leading: ReplicaStatus | undefined, local: ReplicaStatus | undefined, leaderEnd: number | undefined): number | undefined {
    if (id === leader) return undefined;
    if (leading) {
      const position = leading.followerOffsets[String(id)];
      return position === undefined ? undefined : Math.max(0, leading.logEndOffset - position);
    }
    if (id === this.brokerId && local && leaderEnd !== undefined) return Math.max(0, leaderEnd - local.logEndOffset);
    return undefined;
  }
}
