// The events service: every action on a container, image, network or volume becomes a Docker-shaped
// event, kept in a bounded ring for `--since` and fanned out to live subscribers.
import { EventEmitter } from 'node:events';
import { matchLabel } from '../lib/filters.js';

export interface EngineEvent {
  Type: 'container' | 'image' | 'network' | 'volume' | 'daemon';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  // Legacy fields dockerd still sends (and old clients read).
  status?: string;
  id?: string;
  from?: string;
}

const RING_SIZE = 1024;

export class EventsService {
  private readonly ring: EngineEvent[] = [];
  private readonly bus = new EventEmitter();

  constructor() {
    this.bus.setMaxListeners(0);
  }

  emit(type: EngineEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): void {
    const nowNs = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
    const ev: EngineEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    if (type === 'container' || type === 'image') {
      ev.status = action;
      ev.id = id;
      if (attributes.image) ev.from = attributes.image;
    }
    this.ring.push(ev);
    if (this.ring.length > RING_SIZE) this.ring.shift();
    this.bus.emit('event', ev);
  }

  /** Past events within [sinceNs, untilNs]. */
  history(sinceNs: number, untilNs: number): EngineEvent[] {
    return this.ring.filter((e) => e.timeNano >= sinceNs && e.timeNano <= untilNs);
  }

  subscribe(fn: (e: EngineEvent) => void): () => void {
    this.bus.on('event', fn);
    return () => this.bus.off('event', fn);
  }
}

/** Docker's event filters: type, event/action, container, image, label, network, volume. Like dockerd,
 *  the endpoint accepts any key; keys it does not know match every event. */
export function matchesEventFilters(e: EngineEvent, filters: Record<string, string[]>): boolean {
  const has = (k: string, pred: (v: string) => boolean) => !filters[k]?.length || filters[k]!.some(pred);
  const name = e.Actor.Attributes.name ?? '';
  return (
    has('type', (v) => v === e.Type) &&
    has('event', (v) => v === e.Action || e.Action.startsWith(v + ':')) &&
    has('container', (v) => e.Type === 'container' && (e.Actor.ID.startsWith(v) || name === v)) &&
    has('image', (v) => e.Actor.Attributes.image === v || (e.Type === 'image' && (e.Actor.ID === v || name === v))) &&
    // As dockerd (MatchKVList): every label given must be on the event.
    (filters.label ?? []).every((l) => matchLabel(e.Actor.Attributes, l)) &&
    has('network', (v) => e.Type === 'network' && (e.Actor.ID.startsWith(v) || name === v)) &&
    has('volume', (v) => e.Type === 'volume' && e.Actor.ID === v) &&
    has('scope', (v) => v === 'local') &&
    has('daemon', (v) => e.Type === 'daemon' && (e.Actor.ID === v || name === v)) &&
    // Swarm's objects and plugins: berth emits no such event.
    ['config', 'node', 'plugin', 'secret', 'service'].every((k) => !filters[k]?.length)
  );
}
