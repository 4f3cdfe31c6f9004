// The Go types behind the Engine API's request bodies and the image config, as encoding/json decodes
// them in dockerd (moby api/types, go-connections/nat, go-units): field names, kinds and the type names
// Go's errors print. One schema per body; go-json.ts decodes with them.
import { anyValue, array, ptr, bool, duration, goInt, int, int64, map, emptyStruct, slice, str, stringList, stringMap, strslice, struct, uint16, uint64, type GoType } from './go-json.js';

const uint = int('uint', 64, false);

const healthConfig = struct('container.HealthConfig', {
  Test: stringList,
  Interval: duration,
  Timeout: duration,
  StartPeriod: duration,
  StartInterval: duration,
  Retries: goInt,
});

/** container.Config: a create body's top level, and an image config's `config` / `container_config`. */
const configFields: Record<string, GoType> = {
  Hostname: str(),
  Domainname: str(),
  User: str(),
  AttachStdin: bool,
  AttachStdout: bool,
  AttachStderr: bool,
  ExposedPorts: map(emptyStruct, 'nat.PortSet'),
  Tty: bool,
  OpenStdin: bool,
  StdinOnce: bool,
  Env: stringList,
  Cmd: strslice,
  Healthcheck: healthConfig,
  ArgsEscaped: bool,
  Image: str(),
  Volumes: map(emptyStruct),
  WorkingDir: str(),
  Entrypoint: strslice,
  NetworkDisabled: bool,
  MacAddress: str(),
  OnBuild: stringList,
  Labels: stringMap,
  StopSignal: str(),
  StopTimeout: goInt,
  Shell: strslice,
};
export const containerConfig = struct('container.Config', configFields);

const weightDevice = struct('blkiodev.WeightDevice', { Path: str(), Weight: uint16 });
const throttleDevice = struct('blkiodev.ThrottleDevice', { Path: str(), Rate: uint64 });
const throttleDevices = slice(throttleDevice, '[]*blkiodev.ThrottleDevice');

/** container.Resources, embedded in HostConfig and UpdateConfig (its fields are theirs). */
const resourcesFields: Record<string, GoType> = {
  CpuShares: int64,
  Memory: int64,
  NanoCpus: int64,
  CgroupParent: str(),
  BlkioWeight: uint16,
  BlkioWeightDevice: slice(weightDevice, '[]*blkiodev.WeightDevice'),
  BlkioDeviceReadBps: throttleDevices,
  BlkioDeviceWriteBps: throttleDevices,
  BlkioDeviceReadIOps: throttleDevices,
  BlkioDeviceWriteIOps: throttleDevices,
  CpuPeriod: int64,
  CpuQuota: int64,
  CpuRealtimePeriod: int64,
  CpuRealtimeRuntime: int64,
  CpusetCpus: str(),
  CpusetMems: str(),
  Devices: slice(struct('container.DeviceMapping', { PathOnHost: str(), PathInContainer: str(), CgroupPermissions: str() })),
  DeviceCgroupRules: stringList,
  DeviceRequests: slice(struct('container.DeviceRequest', { Driver: str(), Count: goInt, DeviceIDs: stringList, Capabilities: slice(stringList), Options: stringMap })),
  KernelMemory: int64,
  KernelMemoryTCP: int64,
  MemoryReservation: int64,
  MemorySwap: int64,
  MemorySwappiness: int64,
  OomKillDisable: bool,
  PidsLimit: int64,
  Ulimits: slice(struct('units.Ulimit', { Name: str(), Hard: int64, Soft: int64 }), '[]*units.Ulimit'),
  CpuCount: int64,
  CpuPercent: int64,
  IOMaximumIOps: uint64,
  IOMaximumBandwidth: uint64,
};

const restartPolicy = struct('container.RestartPolicy', { Name: str(), MaximumRetryCount: goInt });

const mount = struct('mount.Mount', {
  Type: str('mount.Type'),
  Source: str(),
  Target: str(),
  ReadOnly: bool,
  Consistency: str('mount.Consistency'),
  BindOptions: struct('mount.BindOptions', { Propagation: str('mount.Propagation'), NonRecursive: bool, CreateMountpoint: bool, ReadOnlyNonRecursive: bool, ReadOnlyForceRecursive: bool }),
  VolumeOptions: struct('mount.VolumeOptions', { NoCopy: bool, Labels: stringMap, Subpath: str(), DriverConfig: struct('mount.Driver', { Name: str(), Options: stringMap }) }),
  TmpfsOptions: struct('mount.TmpfsOptions', { SizeBytes: int64, Mode: int('fs.FileMode', 32, false), Options: slice(stringList) }),
});

const portBinding = struct('nat.PortBinding', { HostIp: str(), HostPort: str() });

const hostConfigFields: Record<string, GoType> = {
  Binds: stringList,
  ContainerIDFile: str(),
  LogConfig: struct('container.LogConfig', { Type: str(), Config: stringMap }),
  NetworkMode: str('container.NetworkMode'),
  PortBindings: map(slice(portBinding), 'nat.PortMap'),
  RestartPolicy: restartPolicy,
  AutoRemove: bool,
  VolumeDriver: str(),
  VolumesFrom: stringList,
  ConsoleSize: array(uint, 2),
  Annotations: stringMap,
  CapAdd: strslice,
  CapDrop: strslice,
  CgroupnsMode: str('container.CgroupnsMode'),
  Dns: stringList,
  DnsOptions: stringList,
  DnsSearch: stringList,
  ExtraHosts: stringList,
  GroupAdd: stringList,
  IpcMode: str('container.IpcMode'),
  Cgroup: str('container.CgroupSpec'),
  Links: stringList,
  OomScoreAdj: goInt,
  PidMode: str('container.PidMode'),
  Privileged: bool,
  PublishAllPorts: bool,
  ReadonlyRootfs: bool,
  SecurityOpt: stringList,
  StorageOpt: stringMap,
  Tmpfs: stringMap,
  UTSMode: str('container.UTSMode'),
  UsernsMode: str('container.UsernsMode'),
  ShmSize: int64,
  Sysctls: stringMap,
  Runtime: str(),
  Isolation: str('container.Isolation'),
  ...resourcesFields,
  Mounts: slice(mount),
  MaskedPaths: stringList,
  ReadonlyPaths: stringList,
  Init: bool,
};
export const hostConfig = struct('container.HostConfig', hostConfigFields);

export const endpointSettings = struct('network.EndpointSettings', {
  IPAMConfig: struct('network.EndpointIPAMConfig', { IPv4Address: str(), IPv6Address: str(), LinkLocalIPs: stringList }),
  Links: stringList,
  Aliases: stringList,
  MacAddress: str(),
  DriverOpts: stringMap,
  NetworkID: str(),
  EndpointID: str(),
  Gateway: str(),
  IPAddress: str(),
  IPPrefixLen: goInt,
  IPv6Gateway: str(),
  GlobalIPv6Address: str(),
  GlobalIPv6PrefixLen: goInt,
  DNSNames: stringList,
});

/** POST /containers/create */
export const containerCreateBody = struct('runconfig.ContainerConfigWrapper', {
  ...configFields,
  // The wrapper also embeds a HostConfig (for clients before API 1.19): its fields are decoded (and
  // type-checked) at the top level too; berth, like dockerd since, uses the HostConfig field.
  ...hostConfigFields,
  HostConfig: hostConfig,
  NetworkingConfig: struct('network.NetworkingConfig', { EndpointsConfig: map(endpointSettings, 'map[string]*network.EndpointSettings') }),
});

/** POST /containers/{id}/update */
export const containerUpdateBody = struct('container.UpdateConfig', { ...resourcesFields, RestartPolicy: restartPolicy });

const consoleSize = array(uint, 2);

/** POST /containers/{id}/exec */
export const execCreateBody = struct('types.ExecConfig', {
  User: str(),
  Privileged: bool,
  Tty: bool,
  ConsoleSize: consoleSize,
  AttachStdin: bool,
  AttachStderr: bool,
  AttachStdout: bool,
  Detach: bool,
  DetachKeys: str(),
  Env: stringList,
  WorkingDir: str(),
  Cmd: stringList,
});

/** POST /exec/{id}/start */
export const execStartBody = struct('types.ExecStartCheck', { Detach: bool, Tty: bool, ConsoleSize: consoleSize });

/** POST /networks/create */
export const networkCreateBody = struct('types.NetworkCreateRequest', {
  Name: str(),
  CheckDuplicate: bool,
  Driver: str(),
  Scope: str(),
  EnableIPv6: bool,
  IPAM: struct('network.IPAM', {
    Driver: str(),
    Options: stringMap,
    Config: slice(struct('network.IPAMConfig', { Subnet: str(), IPRange: str(), Gateway: str(), AuxiliaryAddresses: stringMap })),
  }),
  Internal: bool,
  Attachable: bool,
  Ingress: bool,
  ConfigOnly: bool,
  ConfigFrom: struct('network.ConfigReference', { Network: str() }),
  Options: stringMap,
  Labels: stringMap,
});

/** POST /networks/{id}/connect */
export const networkConnectBody = struct('types.NetworkConnect', { Container: str(), EndpointConfig: endpointSettings });

/** POST /networks/{id}/disconnect */
export const networkDisconnectBody = struct('types.NetworkDisconnect', { Container: str(), Force: bool });

/** POST /volumes/create */
export const volumeCreateBody = struct('volume.VolumeCreateBody', { Name: str(), Driver: str(), DriverOpts: stringMap, Labels: stringMap, ClusterVolumeSpec: anyValue });

/** POST /build's buildargs and labels query parameters. */
export const buildArgsParam = map(ptr(str()));
export const buildLabelsParam = stringMap;

/** An image config blob (moby image.Image: V1Image + rootfs + history), as pulled, loaded or imported. */
export const imageConfig = struct('image.Image', {
  id: str(),
  parent: str(),
  comment: str(),
  created: str('time.Time'),
  container: str(),
  container_config: containerConfig,
  docker_version: str(),
  author: str(),
  config: containerConfig,
  architecture: str(),
  variant: str(),
  os: str(),
  Size: int64,
  rootfs: struct('image.RootFS', { type: str(), diff_ids: slice(str('layer.DiffID')) }),
  history: slice(struct('image.History', { created: str('time.Time'), author: str(), created_by: str(), comment: str(), empty_layer: bool })),
  'os.version': str(),
  'os.features': stringList,
});


/** POST /auth (and the X-Registry-Auth header's JSON). */
export const authConfig = struct('types.AuthConfig', {
  username: str(),
  password: str(),
  auth: str(),
  email: str(),
  serveraddress: str(),
  identitytoken: str(),
  registrytoken: str(),
});

// ---- image manifests (OCI image-spec / Docker v2 schema 2, as containerd and distribution decode them)

const platform = struct('v1.Platform', { architecture: str(), os: str(), 'os.version': str(), 'os.features': stringList, variant: str(), features: stringList });
export const descriptor = struct('v1.Descriptor', { mediaType: str(), digest: str('digest.Digest'), size: int64, urls: stringList, annotations: stringMap, platform, artifactType: str() });

/** An image manifest (config + layers). */
export const imageManifest = struct('v1.Manifest', { schemaVersion: goInt, mediaType: str(), artifactType: str(), config: descriptor, layers: slice(descriptor), subject: descriptor, annotations: stringMap });

/** An index / manifest list. */
export const imageIndex = struct('v1.Index', { schemaVersion: goInt, mediaType: str(), artifactType: str(), manifests: slice(descriptor), subject: descriptor, annotations: stringMap });

/** A `docker save` archive's manifest.json. */
export const saveManifest = slice(struct('tarexport.manifestItem', { Config: str(), RepoTags: stringList, Layers: stringList, Parent: str(), LayerSources: map(descriptor) }));
