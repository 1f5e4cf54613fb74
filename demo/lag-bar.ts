/**
 * A follower's lag as a small bar. The scale is logarithmic: a lag of 1 record and one of
 * 10,000 both need to be visible, and "how many orders of magnitude behind" is what a reader
 * compares at a glance.
 */
import { h } from './dom';

const FULL_SCALE = 10_000;

export function lagBar(lag: number, label: string): HTMLElement {
  const fraction = lag <= 0 ? 0 : Math.min(1, Math.log10(1 + lag) / Math.log10(1 + FULL_SCALE));
  const bar = h('span', { class: 'lag-bar', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': FULL_SCALE, 'aria-valuenow': Math.min(lag, FULL_SCALE), 'aria-label': label });
  const fill = h('span', { class: 'lag-fill' });
  fill.style.width = `${Math.round(fraction * 100)}%`;
  bar.append(fill);
  return h('span', { class: lag > 0 ? 'lag behind' : 'lag', 'data-lag': lag }, bar, h('span', { class: 'lag-text' }, `lag ${lag}`));
}
