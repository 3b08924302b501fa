# examples/terminating/main.ts in Python.
import os

from cdktf import App, TerraformStack
from constructs import Construct
from cdktf_consul_mesh import DockerDatacenter, IntentionAction, IntentionSourceOptions, ServiceIntentions, StateEncryption, TerminatingGateway


class TerminatingExample(TerraformStack):
    def __init__(self, scope: Construct, id: str, *, image: str = None, start_envoy: bool = None):
        super().__init__(scope, id)
        # The tokens and keys the providers keep in state are encrypted at rest (set TF_VAR_state_passphrase).
        StateEncryption(self, "state-encryption")
        self.datacenter = DockerDatacenter(self, "dc1", name="dc1", image=image)
        self.gateway = TerminatingGateway(self, "egress", datacenter=self.datacenter, start_envoy=start_envoy)
        # 192.0.2.0/24 is a documentation range: put the real address here.
        self.gateway.link_service(
            service="billing", address="192.0.2.10", port=443, node="billing-saas",
            ca_file="/etc/ssl/certs/ca-certificates.crt", sni="billing.example.com",
        )
        ServiceIntentions(self, "billing-intentions",
            datacenter=self.datacenter,
            destination="billing",
            sources=[
                IntentionSourceOptions(name="web", action=IntentionAction.allow()),
                IntentionSourceOptions(name="*", action=IntentionAction.deny()),
            ],
        )


if __name__ == "__main__":
    app = App()
    TerminatingExample(app, "terminating",
        image=os.environ.get("CONSUL_MESH_IMAGE"),
        start_envoy=os.environ.get("CONSUL_MESH_START_ENVOY") != "false")
    app.synth()
