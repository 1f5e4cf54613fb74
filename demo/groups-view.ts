/**
 * Consumer groups: each group's state and generation, its coordinator (the leader of the
 * group's __consumer_offsets partition), its members and what each owns, and per partition
 * the committed offset, the high watermark and the lag between them.
 */
import { CONSUMER_OFFSETS_TOPIC, offsetsPartitionFor } from 'tabka';
import type { Admin, GroupDescriptionResult, TopicCommits, TopicMetadata } from 'tabka';
import { h, withTimeout } from './dom';
import { lagBar } from './lag-bar';
import { dataRow, dataTable, noteRow } from './table';
import type { Column } from './table';

interface GroupBlock {
  readonly section: HTMLElement;
  readonly heading: HTMLElement;
  readonly facts: HTMLElement;
  readonly members: HTMLUListElement;
  readonly body: HTMLTableSectionElement;
}

const CALL_TIMEOUT_MS = 4000;

const COMMIT_COLUMNS: readonly Column[] = [
  { key: 'partition', label: 'Partition' },
  { key: 'committed', label: 'Committed' },
  { key: 'hw', label: 'High watermark' },
  { key: 'lag', label: 'Lag' },
];

export class GroupsView {
  private readonly blocks = new Map<string, GroupBlock>();
  /** Groups seen once stay listed: a group whose coordinator is moving is still a group. */
  private readonly known = new Set<string>();
  private readonly empty = h('p', { class: 'empty' }, 'No consumer groups yet: start a group consumer below.');

  constructor(
    private readonly host: HTMLElement,
    private readonly admin: Admin,
  ) {
    host.replaceChildren(this.empty);
  }

  /** A group this tab uses shows up before the coordinators' listing catches up. */
  remember(groupId: string): void {
    this.known.add(groupId);
  }

  async refresh(topics: readonly TopicMetadata[]): Promise<void> {
    const listed = await withTimeout(this.admin.listGroups(), CALL_TIMEOUT_MS, 'listGroups').catch(() => ({ groups: [] }));
    for (const group of listed.groups) this.known.add(group.groupId);
    const ids = [...this.known].sort();
    if (ids.length === 0) return;
    const { groups } = await withTimeout(this.admin.describeGroups(ids), CALL_TIMEOUT_MS, 'describeGroups');
    const offsets = await Promise.all(
      ids.map((groupId) => withTimeout(this.admin.fetchOffsets({ groupId }), CALL_TIMEOUT_MS, 'fetchOffsets').catch(() => null)),
    );
    const offsetsTopic = topics.find((t) => t.name === CONSUMER_OFFSETS_TOPIC);
    const sections = groups.map((group, i) => this.show(group, offsets[i] ?? null, offsetsTopic));
    if (sections.length && (this.host.children.length !== sections.length || sections.some((s, i) => this.host.children[i] !== s))) this.host.replaceChildren(...sections);
  }

  private show(group: GroupDescriptionResult, commits: TopicCommits[] | null, offsetsTopic: TopicMetadata | undefined): HTMLElement {
    const block = this.block(group.groupId);
    const partition = offsetsPartitionFor(group.groupId, offsetsTopic?.partitions.length || undefined);
    const coordinator = offsetsTopic?.partitions.find((p) => p.partitionId === partition)?.leader;
    block.section.dataset.state = group.state;
    block.heading.replaceChildren(group.groupId, ' ', h('span', { class: `badge state-${group.state}`, 'data-field': 'state' }, group.errorCode === 0 ? group.state : `unavailable (${group.errorCode})`));
    block.facts.textContent = [
      `generation ${group.generation}`,
      group.protocol ? `assignor ${group.protocol}` : 'no assignor yet',
      coordinator === undefined || coordinator < 0 ? `coordinator: electing (${CONSUMER_OFFSETS_TOPIC}-${partition})` : `coordinator: broker ${coordinator} (leads ${CONSUMER_OFFSETS_TOPIC}-${partition})`,
    ].join(' · ');
    block.members.replaceChildren(
      ...(group.members.length
        ? group.members.map((m) => {
            const owns = m.memberAssignment.map((tp) => `${tp.topic}-${tp.partition}`).join(', ') || 'nothing';
            return h('li', { 'data-member': m.memberId }, h('strong', {}, m.clientId), ` ${m.memberId === group.leader ? '(group leader) ' : ''}owns ${owns}`);
          })
        : [h('li', {}, 'no members: offsets stay committed for the next one')]),
    );
    if (commits) {
      const rows = commits.flatMap((topic) =>
        topic.partitions.map((p) =>
          dataRow(
            COMMIT_COLUMNS,
            {
              partition: `${topic.topic}-${p.partition}`,
              committed: p.offset === '-1' ? 'none' : p.offset,
              hw: p.high,
              lag: lagBar(Number(p.lag), `group ${group.groupId} is ${p.lag} records behind on ${topic.topic}-${p.partition}`),
            },
            { 'data-topic': topic.topic, 'data-partition': p.partition },
          ),
        ),
      );
      block.body.replaceChildren(...(rows.length ? rows : [noteRow(COMMIT_COLUMNS, 'nothing committed yet')]));
    }
    return block.section;
  }

  private block(groupId: string): GroupBlock {
    const existing = this.blocks.get(groupId);
    if (existing) return existing;
    const heading = h('h3');
    const facts = h('p', { class: 'group-facts' });
    const members = h('ul', { class: 'group-members' });
    const { table, body } = dataTable(COMMIT_COLUMNS, `Committed offsets of group ${groupId}`, 'commits');
    const section = h('section', { class: 'group', 'data-group': groupId, 'aria-label': `Group ${groupId}` }, heading, facts, members, h('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': `Offsets of ${groupId}` }, table));
    const block = { section, heading, facts, members, body };
    this.blocks.set(groupId, block);
    return block;
  }
}
