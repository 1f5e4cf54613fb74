/**
 * What must hold of the replicated metadata log after every simulation step, judged against a
 * ground truth the simulator keeps: the committed log, as the first broker to commit each
 * offset saw it.
 *  - No two brokers ever commit different entries at one offset, and no broker's high
 *    watermark goes back (Raft's state machine safety).
 *  - A controller that becomes ready holds every entry committed so far (leader completeness),
 *    so nothing committed is ever lost.
 *  - A broker's image is its committed entries replayed, with no record refused.
 *  - What a broker acts on is what its storage holds.
 */
import type { ClusterMember } from '../../src/cluster/cluster-member';
import type { MetadataEntry } from '../../src/cluster/metadata-quorum-messages';
import { InvariantViolation } from './election-invariants';

export interface MetadataBroker {
  readonly id: number;
  readonly member: ClusterMember;
  readonly incarnation: number;
  readonly storedEntries: readonly MetadataEntry[];
  readonly storedHighWatermark: number;
}

/** Key order differs between a record as built and as parsed from the wire; the content must not. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

const canonicalCache = new WeakMap<MetadataEntry, string>();

function canonicalEntry(entry: MetadataEntry): string {
  let text = canonicalCache.get(entry);
  if (text === undefined) {
    text = canonical(entry);
    canonicalCache.set(entry, text);
  }
  return text;
}

function same(a: MetadataEntry | undefined, b: MetadataEntry | undefined): boolean {
  return a !== undefined && b !== undefined && (a === b || canonicalEntry(a) === canonicalEntry(b));
}

export class MetadataInvariants {
  private readonly committed: MetadataEntry[] = [];
  /** Per broker incarnation: how much of its committed prefix was already checked. */
  private readonly checked = new Map<string, number>();

  check(brokers: readonly MetadataBroker[]): void {
    for (const broker of brokers) this.checkBroker(broker);
  }

  private checkBroker({ id, member, incarnation, storedEntries, storedHighWatermark }: MetadataBroker): void {
    const log = member.metadataLog;
    const hw = member.highWatermark;
    if (hw > log.length) throw new InvariantViolation(`broker ${id} has high watermark ${hw} past its log end ${log.length}`);
    const key = `${id}@${incarnation}`;
    const from = this.checked.get(key) ?? 0;
    if (hw < from) throw new InvariantViolation(`broker ${id} high watermark went back from ${from} to ${hw}`);
    for (let offset = from; offset < hw; offset++) {
      const entry = log[offset];
      if (offset < this.committed.length) {
        if (!same(entry, this.committed[offset])) {
          throw new InvariantViolation(
            `broker ${id} committed ${JSON.stringify(entry)} at ${offset}, others ${JSON.stringify(this.committed[offset])}`,
          );
        }
      } else {
        this.committed.push(entry as MetadataEntry);
      }
    }
    this.checked.set(key, hw);
    if (member.image.offset !== hw - 1) {
      throw new InvariantViolation(`broker ${id} image is at offset ${member.image.offset} with high watermark ${hw}`);
    }
    // Storage gets the very entry objects the log holds: identity is the cheap, exact check.
    if (storedEntries.length !== log.length || storedEntries.at(-1) !== log.at(-1)) {
      throw new InvariantViolation(`broker ${id} holds a metadata log of ${log.length} entries but stored ${storedEntries.length}`);
    }
    if (storedHighWatermark !== hw) {
      throw new InvariantViolation(`broker ${id} acts on high watermark ${hw} but stored ${storedHighWatermark}`);
    }
  }

  /** A controller finished collecting the metadata: it must hold every committed entry. */
  becameReady(id: number, member: ClusterMember): void {
    const log = member.metadataLog;
    this.committed.forEach((entry, offset) => {
      if (!same(log[offset], entry)) {
        throw new InvariantViolation(
          `controller ${id} became ready without committed entry ${offset} ${JSON.stringify(entry)} (has ${JSON.stringify(log[offset])})`,
        );
      }
    });
  }

  /** Settled: every broker holds and has committed the controller's whole log. */
  agree(members: readonly ClusterMember[], controller: ClusterMember): boolean {
    const log = controller.metadataLog;
    return members.every(
      (m) => m.highWatermark === log.length && m.metadataLog.length === log.length && same(m.metadataLog.at(-1), log.at(-1)),
    );
  }
}
