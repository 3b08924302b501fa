# examples/two-hosts/main.ts in Python.
import os

from cdktf import App, TerraformStack, TerraformVariable
from cdktf_cdktf_provider_docker.provider import DockerProvider
from constructs import Construct
from cdktf_consul_mesh import (
    DatacenterTls, DockerDatacenter, FederationMethod, MeshGatewayMode, MeshGatewayModeReport, MeshService,
    ProxyDefaults, StateEncryption, UpstreamOptions,
)


class DatacenterStack(TerraformStack):
    """One datacenter, its Docker host and its mesh gateway, in a stack of its own."""

    def __init__(self, scope: Construct, id: str, *, name: str, host: dict, image: str = None, start_envoy: bool = None,
                 federation_method: FederationMethod = None, join=None, http_port: int = None, lan_subnet: str = None):
        super().__init__(scope, id)
        # The tokens and keys the providers keep in state are encrypted at rest (set TF_VAR_state_passphrase).
        StateEncryption(self, "state-encryption")
        # The federation's CA (`consul tls ca create`): every stack gets the same one.
        ca_certificate = TerraformVariable(self, "ca_certificate", type="string", description="The federation CA certificate (PEM)")
        ca_private_key = TerraformVariable(self, "ca_private_key", type="string", sensitive=True, description="The federation CA key (PEM)")
        self.datacenter = DockerDatacenter(self, name,
            name=name,
            image=image,
            docker_provider=DockerProvider(self, "docker", host=host.get("docker_host")),
            host_address=host["address"],
            tls=DatacenterTls(ca_certificate=ca_certificate.string_value, ca_private_key=ca_private_key.string_value),
            federation_method=federation_method,
            join=join,
            http_port=http_port,
            lan_subnet=lan_subnet,
        )
        self.datacenter.add_mesh_gateway("gateway", start_envoy=start_envoy)


def two_hosts(app: App, *, dc1: dict, dc2: dict, image: str = None, start_envoy: bool = None):
    primary = DatacenterStack(app, "two-hosts-dc1", name="dc1", host=dc1, image=image, start_envoy=start_envoy,
                              federation_method=FederationMethod.wan_gossip())
    ProxyDefaults(primary, "proxy-defaults", datacenter=primary.datacenter, mesh_gateway_mode=MeshGatewayMode.local())

    # Both on one engine (no DOCKER_HOST given): there, each datacenter needs a subnet and API port of its own.
    one_engine = dc1.get("docker_host") == dc2.get("docker_host")
    secondary = DatacenterStack(app, "two-hosts-dc2", name="dc2", host=dc2, image=image, start_envoy=start_envoy,
                                join=primary.datacenter.federation_join(),
                                http_port=8501 if one_engine else None, lan_subnet="10.249.2.0/24" if one_engine else None)
    # web in dc2 calls api in dc1 through dc2's gateway (proxy-defaults: local, replicated from dc1).
    MeshService(secondary, "web",
        datacenter=secondary.datacenter,
        service="web",
        port=8080,
        upstreams=[UpstreamOptions(service="api", datacenter="dc1", local_bind_port=9191)],
    )
    # The mode table beside dc2's cdk.tf.json: its row is decided by dc1's proxy-defaults, declared in the other stack.
    MeshGatewayModeReport(secondary, "modes")
    return primary, secondary


if __name__ == "__main__":
    app = App()
    env = os.environ
    two_hosts(app,
        dc1={"docker_host": env.get("DC1_DOCKER_HOST"), "address": env.get("DC1_HOST_ADDRESS", "192.0.2.1")},
        dc2={"docker_host": env.get("DC2_DOCKER_HOST"), "address": env.get("DC2_HOST_ADDRESS", "192.0.2.2")},
        image=env.get("CONSUL_MESH_IMAGE"),
        start_envoy=env.get("CONSUL_MESH_START_ENVOY") != "false")
    app.synth()
