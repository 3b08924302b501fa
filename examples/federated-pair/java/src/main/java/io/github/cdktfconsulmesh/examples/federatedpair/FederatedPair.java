package io.github.cdktfconsulmesh.examples.federatedpair;

import com.hashicorp.cdktf.TerraformStack;
import io.github.cdktfconsulmesh.ConsulFederation;
import io.github.cdktfconsulmesh.DatacenterOptions;
import io.github.cdktfconsulmesh.DockerDatacenter;
import io.github.cdktfconsulmesh.FederationMethod;
import io.github.cdktfconsulmesh.MeshGatewayMode;
import io.github.cdktfconsulmesh.MeshGatewayModeReport;
import io.github.cdktfconsulmesh.MeshGatewayOptions;
import io.github.cdktfconsulmesh.MeshService;
import io.github.cdktfconsulmesh.Protocol;
import io.github.cdktfconsulmesh.ProxyDefaults;
import io.github.cdktfconsulmesh.ServiceDefaults;
import io.github.cdktfconsulmesh.StateEncryption;
import io.github.cdktfconsulmesh.UpstreamOptions;
import java.util.List;
import software.constructs.Construct;

/**
 * The main job: two federated Consul datacenters on Docker, a mesh gateway in
 * each, proxies sending cross-datacenter traffic through their local gateway,
 * and one service that goes straight to the remote gateway.
 */
public class FederatedPair extends TerraformStack {
    public final ConsulFederation federation;

    public FederatedPair(final Construct scope, final String id) {
        this(scope, id, new FederatedPairOptions());
    }

    public FederatedPair(final Construct scope, final String id, final FederatedPairOptions options) {
        super(scope, id);
        // The tokens and keys the providers keep in state are encrypted at rest (set TF_VAR_state_passphrase).
        new StateEncryption(this, "state-encryption");
        final FederationMethod method = options.method != null ? options.method : FederationMethod.wanGossip();
        final boolean separate = options.separateServers != null ? options.separateServers : !method.getThroughMeshGateways();
        final TerraformStack servers = separate ? new TerraformStack(scope, id + "-servers") : null;
        if (servers != null) new StateEncryption(servers, "state-encryption");
        this.federation = ConsulFederation.Builder.create(this, "fed")
                .primary(DatacenterOptions.builder().name("dc1").build())
                .secondaries(List.of(DatacenterOptions.builder().name("dc2").build()))
                .method(method)
                .image(options.image)
                // Containers, volumes, networks: applied before the Consul side, which is refreshed through them.
                .serverStack(servers)
                .build();
        for (final DockerDatacenter dc : this.federation.getDatacenters()) {
            dc.addMeshGateway("gateway", MeshGatewayOptions.builder().startEnvoy(options.startEnvoy).build());
        }
        ProxyDefaults.Builder.create(this, "proxy-defaults")
                .datacenter(this.federation.getPrimary())
                .meshGatewayMode(MeshGatewayMode.local())
                .build();
        ServiceDefaults.Builder.create(this, "api-defaults")
                .datacenter(this.federation.getPrimary())
                .service("api")
                .protocol(Protocol.HTTP)
                .meshGatewayMode(MeshGatewayMode.remote())
                .build();

        // web in dc1 calls api in dc2 and billing in dc1. `npm run explain` shows
        // which gateway each call uses: proxy-defaults (local) decides api, even
        // though api's own service-defaults says remote.
        final DockerDatacenter dc2 = this.federation.datacenter("dc2");
        MeshService.Builder.create(this, "api").datacenter(dc2).service("api").port(8080).build();
        MeshService.Builder.create(this, "web")
                .datacenter(this.federation.getPrimary())
                .service("web")
                .port(8080)
                .upstreams(List.of(
                        UpstreamOptions.builder().service("api").datacenter(dc2.getName()).localBindPort(9191).build(),
                        UpstreamOptions.builder().service("billing").localBindPort(9192).build()))
                .build();
        // Writes the mode table, its diagram and the services' agent definitions beside cdk.tf.json.
        new MeshGatewayModeReport(this, "modes");
    }
}
