# The main example in Python: examples/federated-pair/main.ts, line for line.
# Structs inside lists are built with their classes (DatacenterOptions,
# UpstreamOptions): a plain dict there would reach the library as it is.
import os

from cdktf import App, LocalBackend, TerraformStack
from constructs import Construct
from cdktf_consul_mesh import (
    ConsulFederation, DatacenterOptions, FederationMethod, MeshGatewayMode, MeshGatewayModeReport, MeshService,
    Protocol, ProxyDefaults, ServiceDefaults, StateEncryption, UpstreamOptions,
)


class FederatedPair(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, method: FederationMethod = None, image: str = None, start_envoy: bool = None,
                 separate_servers: bool = None):
        super().__init__(scope, id)
        # The tokens and keys the providers keep in state are encrypted at rest (set TF_VAR_state_passphrase).
        StateEncryption(self, "state-encryption")
        method = method or FederationMethod.wan_gossip()
        separate = separate_servers if separate_servers is not None else not method.through_mesh_gateways
        servers = TerraformStack(scope, f"{id}-servers") if separate else None
        if servers:
            StateEncryption(servers, "state-encryption")
        self.federation = ConsulFederation(self, "fed",
            primary=DatacenterOptions(name="dc1"),
            secondaries=[DatacenterOptions(name="dc2")],
            method=method,
            image=image,
            # Containers, volumes, networks: applied before the Consul side, which is refreshed through them.
            server_stack=servers,
        )
        for dc in self.federation.datacenters:
            dc.add_mesh_gateway("gateway", start_envoy=start_envoy)
        ProxyDefaults(self, "proxy-defaults", datacenter=self.federation.primary, mesh_gateway_mode=MeshGatewayMode.local())
        ServiceDefaults(self, "api-defaults",
            datacenter=self.federation.primary, service="api", protocol=Protocol.HTTP, mesh_gateway_mode=MeshGatewayMode.remote())

        dc2 = self.federation.datacenter("dc2")
        MeshService(self, "api", datacenter=dc2, service="api", port=8080)
        MeshService(self, "web", datacenter=self.federation.primary, service="web", port=8080, upstreams=[
            UpstreamOptions(service="api", datacenter=dc2.name, local_bind_port=9191),
            UpstreamOptions(service="billing", local_bind_port=9192),
        ])
        MeshGatewayModeReport(self, "modes")


if __name__ == "__main__":
    app = App()
    FederatedPair(app, "federated-pair",
        image=os.environ.get("CONSUL_MESH_IMAGE"),
        start_envoy=os.environ.get("CONSUL_MESH_START_ENVOY") != "false")
    # Where `npm run up` keeps the stacks' (encrypted) state: outside the repo. Else cdktf's default, ./terraform.<stack>.tfstate.
    state_dir = os.environ.get("CONSUL_MESH_STATE_DIR")
    if state_dir:
        for stack in app.node.children:
            if isinstance(stack, TerraformStack):
                LocalBackend(stack, path=os.path.join(state_dir, f"{stack.node.id}.tfstate"))
    app.synth()
