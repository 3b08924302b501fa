// The one place that imports the prebuilt provider bindings, so an upgrade of
// either package touches a single file.
export { ConsulProvider } from '@cdktf/provider-consul/lib/provider';
export { AclPolicy } from '@cdktf/provider-consul/lib/acl-policy';
export { AclToken } from '@cdktf/provider-consul/lib/acl-token';
export { ConfigEntry } from '@cdktf/provider-consul/lib/config-entry';
export { DataConsulAclTokenSecretId } from '@cdktf/provider-consul/lib/data-consul-acl-token-secret-id';
// Renamed: `Node` and `Service` would shadow constructs' Node and read as anything.
export { Node as CatalogNode } from '@cdktf/provider-consul/lib/node';
export { Service as CatalogService } from '@cdktf/provider-consul/lib/service';
export { PeeringToken } from '@cdktf/provider-consul/lib/peering-token';
export { Peering } from '@cdktf/provider-consul/lib/peering';

export { DockerProvider } from '@cdktf/provider-docker/lib/provider';
export { Container } from '@cdktf/provider-docker/lib/container';
export type { ContainerConfig } from '@cdktf/provider-docker/lib/container';
export { Image } from '@cdktf/provider-docker/lib/image';
export { Network } from '@cdktf/provider-docker/lib/network';
export { Volume } from '@cdktf/provider-docker/lib/volume';
