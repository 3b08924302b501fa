# examples/peering/main.ts in Python.
import os

from cdktf import App, TerraformStack
from constructs import Construct
from cdktf_consul_mesh import ClusterPeering, DockerDatacenter, PeeredServiceOptions, StateEncryption


class PeeringExample(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, image: str = None, start_envoy: bool = None, through_mesh_gateways: bool = None):
        super().__init__(scope, id)
        # The tokens and keys the providers keep in state are encrypted at rest (set TF_VAR_state_passphrase).
        StateEncryption(self, "state-encryption")
        self.east = DockerDatacenter(self, "east", name="east", image=image)
        self.west = DockerDatacenter(self, "west", name="west", http_port=8510, image=image)
        for dc in [self.east, self.west]:
            dc.add_mesh_gateway("gateway", peering=True, start_envoy=start_envoy)
        self.peering = ClusterPeering(self, "peering",
            acceptor=self.east,
            dialer=self.west,
            exported_services=[PeeredServiceOptions(service="api", allowed_callers=["web"])],
            through_mesh_gateways=through_mesh_gateways,
        )


if __name__ == "__main__":
    app = App()
    PeeringExample(app, "peering",
        image=os.environ.get("CONSUL_MESH_IMAGE"),
        start_envoy=os.environ.get("CONSUL_MESH_START_ENVOY") != "false")
    app.synth()
