# examples/ingress/main.ts in Python.
import os

from cdktf import App, TerraformStack
from constructs import Construct
from cdktf_consul_mesh import DockerDatacenter, IngressGateway, IngressServiceOptions, Protocol, ServiceDefaults, StateEncryption


class IngressExample(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, image: str = None, start_envoy: bool = None):
        super().__init__(scope, id)
        # The tokens and keys the providers keep in state are encrypted at rest (set TF_VAR_state_passphrase).
        StateEncryption(self, "state-encryption")
        self.datacenter = DockerDatacenter(self, "dc1", name="dc1", image=image)
        for service in ["web", "api"]:
            ServiceDefaults(self, f"{service}-defaults", datacenter=self.datacenter, service=service, protocol=Protocol.HTTP)
        self.gateway = IngressGateway(self, "ingress", datacenter=self.datacenter, start_envoy=start_envoy)
        http = self.gateway.add_listener(port=8080, protocol=Protocol.HTTP)
        http.add_service(name="web", hosts=["shop.example.com"])
        http.add_service(name="api", hosts=["api.shop.example.com"])
        self.gateway.add_listener(port=5432, services=[IngressServiceOptions(name="db")])


if __name__ == "__main__":
    app = App()
    IngressExample(app, "ingress",
        image=os.environ.get("CONSUL_MESH_IMAGE"),
        start_envoy=os.environ.get("CONSUL_MESH_START_ENVOY") != "false")
    app.synth()
