// Network records shown in Docker's JSON shape (GET /networks/{id}, and each row of GET /networks).
import type { EndpointSettings, NetworkInspect } from '../../api/types.js';
import type { NetworkedContainer } from './container.js';
import type { NetworkRecord } from './store.js';

export function networkView(n: NetworkRecord, endpoints: { rec: NetworkedContainer; ep: EndpointSettings }[]): NetworkInspect {
  const containers: NetworkInspect['Containers'] = {};
  for (const { rec, ep } of endpoints) {
    containers[rec.id] = {
      Name: rec.name.slice(1),
      EndpointID: ep.EndpointID ?? '',
      MacAddress: ep.MacAddress ?? '',
      IPv4Address: ep.IPAddress ? `${ep.IPAddress}/${ep.IPPrefixLen}` : '',
      IPv6Address: ep.GlobalIPv6Address ? `${ep.GlobalIPv6Address}/${ep.GlobalIPv6PrefixLen}` : '',
    };
  }
  const ipam = n.ipam;
  const config = ipam
    ? [{ Subnet: ipam.subnet, Gateway: ipam.gateway, ...(ipam.ipRange ? { IPRange: ipam.ipRange } : {}), ...(ipam.auxAddresses ? { AuxiliaryAddresses: ipam.auxAddresses } : {}) }]
    : [];
  // dockerd shows an IPv6 config as given: its Gateway only when one was.
  const v6 = n.ipam6;
  if (v6) config.push({ Subnet: v6.subnet, ...(v6.gateway ? { Gateway: v6.gateway } : {}), ...(v6.ipRange ? { IPRange: v6.ipRange } : {}) } as (typeof config)[number]);
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv6: n.enableIPv6 ?? false,
    IPAM: { Driver: 'default', Options: null, Config: config },
    Internal: n.internal,
    Attachable: n.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: n.options,
    Labels: n.labels,
  };
}
