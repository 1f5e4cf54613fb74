import { CloseCode } from './close-codes';
import type { ServerMessage } from './signaling-protocol';

/** What the room bookkeeping needs of a connection; the socket stays with the server. */
export interface RoomMember {
  readonly brokerId: number;
  send(message: ServerMessage): void;
}

export interface RoomLimits {
  maxRooms: number;
  maxPeersPerRoom: number;
}

export type Admission = { ok: true; peers: number[] } | { ok: false; closeCode: number; reason: string };

/**
 * Room membership: who is in which room under which broker id, and telling the others when
 * that changes. One room is one cluster; broker ids are unique inside it.
 */
export class Rooms<M extends RoomMember> {
  private readonly rooms = new Map<string, Map<number, M>>();

  constructor(private readonly limits: RoomLimits) {}

  /** Adds the member and announces it to the room; returns who was there before it. */
  admit(room: string, member: M): Admission {
    const members = this.rooms.get(room);
    if (members?.has(member.brokerId)) {
      return { ok: false, closeCode: CloseCode.DUPLICATE_BROKER_ID, reason: `broker id ${member.brokerId} is already in the room` };
    }
    if (members && members.size >= this.limits.maxPeersPerRoom) {
      return { ok: false, closeCode: CloseCode.ROOM_FULL, reason: `room is full (${this.limits.maxPeersPerRoom} brokers)` };
    }
    if (!members && this.rooms.size >= this.limits.maxRooms) {
      return { ok: false, closeCode: CloseCode.TOO_MANY_ROOMS, reason: `server has its maximum of ${this.limits.maxRooms} rooms` };
    }
    const joined = members ?? new Map<number, M>();
    const peers = [...joined.keys()];
    for (const other of joined.values()) other.send({ type: 'peer-joined', brokerId: member.brokerId });
    joined.set(member.brokerId, member);
    this.rooms.set(room, joined);
    return { ok: true, peers };
  }

  /** Removes the member if it is the one registered under its id, and announces it. */
  remove(room: string, member: M): void {
    const members = this.rooms.get(room);
    if (members?.get(member.brokerId) !== member) return;
    members.delete(member.brokerId);
    if (members.size === 0) {
      this.rooms.delete(room);
      return;
    }
    for (const other of members.values()) other.send({ type: 'peer-left', brokerId: member.brokerId });
  }

  find(room: string, brokerId: number): M | undefined {
    return this.rooms.get(room)?.get(brokerId);
  }

  snapshot(): Array<{ room: string; brokerIds: number[] }> {
    return [...this.rooms].map(([room, members]) => ({ room, brokerIds: [...members.keys()] }));
  }
}
