/**
 * Small line charts in inline SVG, no dependency: a minute of per-second values is a few
 * dozen points, and a polyline draws that fine. The caption carries the numbers in words,
 * so the picture is never the only place a value is.
 */
import { h, s } from './dom';

export interface Series {
  readonly name: string;
  /** Oldest first; null leaves a gap (nothing measured that second). */
  readonly values: readonly (number | null)[];
}

const WIDTH = 120;
const HEIGHT = 36;

export class LineChart {
  readonly element: HTMLElement;
  private readonly svg: SVGSVGElement;
  private readonly caption: HTMLElement;

  constructor(
    readonly id: string,
    private readonly title: string,
    private readonly unit: string,
  ) {
    this.svg = s('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: 'none', 'aria-hidden': 'true', focusable: 'false' });
    this.caption = h('figcaption');
    this.element = h('figure', { class: 'chart', 'data-chart': id }, this.caption, this.svg);
  }

  update(series: readonly Series[]): void {
    const all = series.flatMap((line) => line.values.filter((v): v is number => v !== null));
    const peak = Math.max(0, ...all);
    const top = niceCeiling(Math.max(1, peak));
    // The window's peak, for anyone (a test, a script) who wants the number rather than the line.
    this.element.dataset.peak = String(Math.round(peak * 10) / 10);
    const lines = series.flatMap((line, index) => segments(line.values, top).map((points) => s('polyline', { class: `series-${index}`, points })));
    const gridline = s('line', { class: 'grid', x1: 0, x2: WIDTH, y1: 0.5, y2: 0.5 });
    this.svg.replaceChildren(gridline, ...lines);

    const parts = series.map((line, index) => {
      const value = lastValue(line.values);
      return h(
        'span',
        { class: `legend series-${index}`, 'data-series': line.name },
        `${line.name} `,
        h('strong', { 'data-value': '' }, value === null ? '–' : formatNumber(value)),
      );
    });
    this.caption.replaceChildren(h('span', { class: 'chart-title' }, this.title), ...parts, h('span', { class: 'chart-scale' }, `axis 0–${formatNumber(top)} ${this.unit} · last ${series[0]?.values.length ?? 0} s`));
  }
}

/** Points of each unbroken run of values, as polyline `points` strings. */
function segments(values: readonly (number | null)[], top: number): string[] {
  const step = values.length > 1 ? WIDTH / (values.length - 1) : WIDTH;
  const runs: string[] = [];
  let run: string[] = [];
  values.forEach((value, i) => {
    if (value === null) {
      if (run.length) runs.push(run.join(' '));
      run = [];
      return;
    }
    const y = HEIGHT - 1 - (value / top) * (HEIGHT - 2);
    run.push(`${(i * step).toFixed(1)},${y.toFixed(1)}`);
  });
  if (run.length) runs.push(run.join(' '));
  // A lone point is a zero-length line: widen it so it shows.
  return runs.map((points) => (points.includes(' ') ? points : `${points} ${points.replace(/^([\d.]+)/, (x) => String(Number(x) + 1))}`));
}

function lastValue(values: readonly (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const value = values[i];
    if (value !== null && value !== undefined) return value;
  }
  return null;
}

/** 1, 2, 5 × 10^n: an axis top a reader can take in at a glance. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const factor of [1, 2, 5, 10]) if (value <= factor * power) return factor * power;
  return 10 * power;
}

function formatNumber(value: number): string {
  return value >= 100 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}
