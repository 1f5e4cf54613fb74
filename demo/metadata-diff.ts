/**
 * What changed between two snapshots of the metadata, in words: the metadata log records
 * the new state, not the story, so the dashboard tells the story by comparing what it saw.
 */
import type { ClusterStatus, TopicMetadata } from 'tabka';

export function diffTopics(before: readonly TopicMetadata[], after: readonly TopicMetadata[]): string[] {
  const changes: string[] = [];
  const old = new Map(before.map((t) => [t.name, t]));
  const now = new Set(after.map((t) => t.name));
  for (const topic of after) {
    const previous = old.get(topic.name);
    if (!previous) {
      const rf = topic.partitions[0]?.replicas.length ?? 0;
      const minIsr = topic.configs['min.insync.replicas'];
      changes.push(`new topic ${topic.name}: ${topic.partitions.length} partition(s), replication factor ${rf}${minIsr ? `, min.insync.replicas ${minIsr}` : ''}`);
      continue;
    }
    const oldPartitions = new Map(previous.partitions.map((p) => [p.partitionId, p]));
    for (const p of topic.partitions) {
      const was = oldPartitions.get(p.partitionId);
      const name = `${topic.name}-${p.partitionId}`;
      if (!was) {
        changes.push(`${name}: new partition, leader ${p.leader}`);
        continue;
      }
      if (was.leader !== p.leader) {
        changes.push(
          p.leader < 0
            ? `${name}: offline, no in-sync replica can lead (was broker ${was.leader})`
            : `${name}: leader moved ${was.leader < 0 ? 'from none' : `from broker ${was.leader}`} to broker ${p.leader} (leader epoch ${p.leaderEpoch})`,
        );
      }
      const removed = was.isr.filter((id) => !p.isr.includes(id));
      const added = p.isr.filter((id) => !was.isr.includes(id));
      if (removed.length) changes.push(`${name}: ISR shrank to [${p.isr.join(', ')}] (${removed.join(', ')} fell behind or left)`);
      if (added.length) changes.push(`${name}: ISR expanded to [${p.isr.join(', ')}] (${added.join(', ')} caught up)`);
    }
  }
  for (const name of old.keys()) if (!now.has(name)) changes.push(`topic ${name} deleted`);
  return changes;
}

export function diffBrokers(before: ClusterStatus, after: ClusterStatus): string[] {
  const changes: string[] = [];
  const liveBefore = new Set(before.liveMembers);
  const liveAfter = new Set(after.liveMembers);
  for (const id of after.members) {
    if (id === after.brokerId) continue;
    if (!before.members.includes(id)) changes.push(`broker ${id} joined the cluster`);
    else if (liveBefore.has(id) && !liveAfter.has(id)) changes.push(`broker ${id} is unreachable (silent past the session timeout)`);
    else if (!liveBefore.has(id) && liveAfter.has(id)) changes.push(`broker ${id} is reachable again`);
  }
  for (const id of before.members) if (!after.members.includes(id)) changes.push(`broker ${id} left the cluster`);
  return changes;
}
