// /swarm, /nodes, /services, /tasks, /secrets, /configs: berth is never part of a swarm, so it answers
// as dockerd does on a node outside one (503 and its words, which clients such as the docker CLI and
// docker-py rely on), and refuses to make a swarm rather than pretend to.
import { NotImplemented, Unavailable } from '../../lib/errors.js';
import type { Router } from '../http.js';

const NOT_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const NOT_SUPPORTED = 'swarm mode is not supported by berth: this node cannot create or join a swarm';

const MANAGER_ROUTES: [method: string, pattern: string][] = [
  ['GET', '/swarm'],
  ['POST', '/swarm/update'],
  ['GET', '/swarm/unlockkey'],
  ['POST', '/swarm/unlock'],
  ['GET', '/nodes'],
  ['GET', '/nodes/{id}'],
  ['DELETE', '/nodes/{id}'],
  ['POST', '/nodes/{id}/update'],
  ['GET', '/services'],
  ['POST', '/services/create'],
  ['GET', '/services/{id}'],
  ['DELETE', '/services/{id}'],
  ['POST', '/services/{id}/update'],
  ['GET', '/services/{id}/logs'],
  ['GET', '/tasks'],
  ['GET', '/tasks/{id}'],
  ['GET', '/tasks/{id}/logs'],
  ['GET', '/secrets'],
  ['POST', '/secrets/create'],
  ['GET', '/secrets/{id}'],
  ['DELETE', '/secrets/{id}'],
  ['POST', '/secrets/{id}/update'],
  ['GET', '/configs'],
  ['POST', '/configs/create'],
  ['GET', '/configs/{id}'],
  ['DELETE', '/configs/{id}'],
  ['POST', '/configs/{id}/update'],
];

export function swarmRoutes(r: Router): void {
  for (const [method, pattern] of MANAGER_ROUTES) {
    r.on(method, pattern, () => {
      throw new Unavailable(NOT_MANAGER);
    });
  }
  r.on('POST', '/swarm/leave', () => {
    throw new Unavailable('This node is not part of a swarm');
  });
  for (const pattern of ['/swarm/init', '/swarm/join']) {
    r.on('POST', pattern, () => {
      throw new NotImplemented(NOT_SUPPORTED);
    });
  }
}
