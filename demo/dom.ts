// Small DOM helpers shared by the dashboard and the tour: plain DOM, no framework.
import { TabkaError } from 'tabka';

export function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id}`);
  return found as T;
}

type Attributes = Record<string, string | number | boolean | undefined>;
type Child = Node | string | number | null | undefined | false;

function setAttributes(node: Element, attributes: Attributes): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(node: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'number' ? String(child) : child);
  }
}

/** An HTML element with attributes (`class`, `data-*`, `aria-*`...) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  setAttributes(node, attributes);
  append(node, children);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attributes);
  append(node, children);
  return node;
}

/** A typed error's name and code tell a reader what happened in Kafka's terms. */
export function describeError(error: unknown): string {
  if (error instanceof TabkaError) return `${error.name} (${error.code}): ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

export function clockTime(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour12: false });
}

/**
 * Settles with the promise, or rejects after `ms`: a call to a broker that is mid-failover
 * may wait seconds for a leader, and a view must not freeze behind it.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const utf8 = new TextDecoder();

export function bytesToText(bytes: Uint8Array | null): string {
  return bytes === null ? '∅' : utf8.decode(bytes);
}

export const isInternalTopic = (name: string): boolean => name.startsWith('__');

/**
 * Sets text only when it differs: views refresh twice a second, and rewriting a live region
 * with the same words makes some screen readers say them again.
 */
export function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/** Tells screen reader users about a change they caused (a consumer started, a stream stopped). */
export function announce(text: string): void {
  const announcer = document.getElementById('announcer');
  if (announcer) announcer.textContent = text;
}
