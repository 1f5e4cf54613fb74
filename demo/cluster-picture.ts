/**
 * The cluster as a picture: brokers on a ring, this tab's broker and the controller marked,
 * this broker's WebRTC links drawn, unreachable brokers greyed out. A text list under it
 * says the same for screen readers and for anyone who prefers words.
 */
import type { ClusterStatus, TopicMetadata } from 'tabka';
import { element, h, s, setText } from './dom';

const MIN_RING = 80;
/** Room around the ring for the labels above and below each node. */
const MARGIN = 30;
// Broker ids are up to ten digits: the circle must hold one.
const NODE_RADIUS = 40;

interface Node {
  readonly id: number;
  readonly x: number;
  readonly y: number;
  readonly self: boolean;
  readonly controller: boolean;
  readonly live: boolean;
  readonly leads: number;
}

export class ClusterPicture {
  private readonly svg = element<HTMLElement>('cluster-picture').appendChild(s('svg', { role: 'img', 'aria-labelledby': 'cluster-picture-title' }));

  update(status: ClusterStatus, topics: readonly TopicMetadata[]): void {
    const { nodes, size } = layout(status, topics);
    // Crop to the nodes and their labels: three brokers on a ring leave the bottom of the square empty.
    const top = Math.min(...nodes.map((n) => n.y)) - NODE_RADIUS - MARGIN;
    const bottom = Math.max(...nodes.map((n) => n.y)) + NODE_RADIUS + 22;
    this.svg.setAttribute('viewBox', `0 ${top} ${size} ${bottom - top}`);
    const self = nodes.find((n) => n.self);
    const connected = new Set(status.connectedPeers);
    const links = self
      ? nodes
          .filter((n) => !n.self && connected.has(n.id))
          .map((n) => s('line', { class: n.live ? 'link' : 'link silent', x1: self.x, y1: self.y, x2: n.x, y2: n.y }))
      : [];
    const title = s('title', { id: 'cluster-picture-title' }, describe(status, nodes));
    const epoch = s('text', { class: 'epoch', x: 4, y: top + 12 }, `controller epoch ${status.controllerEpoch}`);
    this.svg.replaceChildren(title, epoch, ...links, ...nodes.map(drawNode));
    this.showText(status, nodes);
  }

  private showText(status: ClusterStatus, nodes: readonly Node[]): void {
    setText(element('controller'), status.controllerId === null ? 'electing…' : String(status.controllerId));
    setText(element('controller-epoch'), String(status.controllerEpoch));
    const members = element('members');
    const signature = nodes.map((n) => `${n.id}:${n.self}:${n.controller}:${n.live}:${n.leads}`).join('|');
    if (members.dataset.signature === signature) return;
    members.dataset.signature = signature;
    members.replaceChildren(
      ...nodes.map((node) => {
        const roles = [node.self ? 'this tab' : '', node.controller ? 'controller' : '', node.live ? '' : 'unreachable', `leads ${node.leads}`];
        const item = h('li', { 'data-broker-id': node.id }, [String(node.id), ...roles.filter(Boolean)].join(' · '));
        item.classList.toggle('controller', node.controller);
        item.classList.toggle('self', node.self);
        item.classList.toggle('down', !node.live);
        return item;
      }),
    );
  }
}

function layout(status: ClusterStatus, topics: readonly TopicMetadata[]): { nodes: Node[]; size: number } {
  const live = new Set([...status.liveMembers, status.brokerId]);
  const ids = [...new Set([...status.members, status.brokerId])].sort((a, b) => a - b);
  const leads = new Map<number, number>();
  for (const topic of topics) for (const p of topic.partitions) leads.set(p.leader, (leads.get(p.leader) ?? 0) + 1);
  // Neighbours on the ring must not touch: with many brokers the ring (and the picture) grows.
  const ring = ids.length === 1 ? 0 : Math.max(MIN_RING, (2 * NODE_RADIUS + 16) / (2 * Math.sin(Math.PI / ids.length)));
  const size = Math.round(2 * (Math.max(ring, MIN_RING) + NODE_RADIUS + MARGIN));
  const center = size / 2;
  const nodes = ids.map((id, i) => {
    // Start at the top and go clockwise, so the picture is stable as brokers come and go.
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / ids.length;
    return {
      id,
      x: Math.round(center + ring * Math.cos(angle)),
      y: Math.round(center + ring * Math.sin(angle)),
      self: id === status.brokerId,
      controller: id === status.controllerId,
      live: live.has(id),
      leads: leads.get(id) ?? 0,
    };
  });
  return { nodes, size };
}

function drawNode(node: Node): SVGGElement {
  const classes = ['broker', node.self ? 'self' : '', node.controller ? 'controller' : '', node.live ? '' : 'down'].filter(Boolean).join(' ');
  const label = node.self ? 'this tab' : node.live ? '' : 'unreachable';
  return s(
    'g',
    { class: classes, 'data-broker-id': node.id },
    s('circle', { cx: node.x, cy: node.y, r: NODE_RADIUS }),
    node.controller ? s('text', { class: 'crown', x: node.x, y: node.y - NODE_RADIUS - 6 }, 'controller') : null,
    s('text', { class: 'id', x: node.x, y: node.y + 4 }, String(node.id)),
    s('text', { class: 'note', x: node.x, y: node.y + NODE_RADIUS + 14 }, [label, `leads ${node.leads}`].filter(Boolean).join(' · ')),
  );
}

function describe(status: ClusterStatus, nodes: readonly Node[]): string {
  const parts = nodes.map((n) => `broker ${n.id}${n.self ? ' (this tab)' : ''}${n.controller ? ' (controller)' : ''}${n.live ? '' : ' (unreachable)'} leads ${n.leads}`);
  return `Cluster of ${nodes.length} broker(s), controller epoch ${status.controllerEpoch}: ${parts.join('; ')}. This tab has links to ${status.connectedPeers.join(', ') || 'no other broker'}.`;
}
