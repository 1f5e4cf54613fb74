/**
 * The dashboard's event log: what the cluster did, newest first, with times. Entries come
 * from several places (the cluster's events, metadata diffs, this tab's clients), so each
 * carries its source; a key lets a source report the same entry twice harmlessly.
 */
import { clockTime, h } from './dom';

export type EventSource = 'cluster' | 'metadata' | 'group' | 'client' | 'fault';

const MAX_ENTRIES = 200;

export class EventLog {
  private readonly seen = new Set<string>();
  private readonly order: string[] = [];

  constructor(private readonly list: HTMLOListElement) {}

  add(at: number, source: EventSource, text: string, key = `${at}|${source}|${text}`): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.order.push(key);
    if (this.order.length > MAX_ENTRIES * 5) this.seen.delete(this.order.shift()!);
    const item = h(
      'li',
      { 'data-source': source },
      h('time', { datetime: new Date(at).toISOString() }, clockTime(at)),
      ' ',
      h('span', { class: `tag tag-${source}` }, source),
      ' ',
      text,
    );
    item.dataset.at = String(at);
    // Entries usually arrive in order; one from the past (a cluster event reported late) slots in by time.
    const later = [...this.list.children].find((child) => Number((child as HTMLElement).dataset.at) <= at);
    this.list.insertBefore(item, later ?? null);
    while (this.list.children.length > MAX_ENTRIES) this.list.lastElementChild?.remove();
  }
}
