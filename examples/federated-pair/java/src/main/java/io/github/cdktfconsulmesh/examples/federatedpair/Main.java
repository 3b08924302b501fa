package io.github.cdktfconsulmesh.examples.federatedpair;

import com.hashicorp.cdktf.App;
import com.hashicorp.cdktf.LocalBackend;
import com.hashicorp.cdktf.LocalBackendConfig;
import com.hashicorp.cdktf.TerraformStack;
import java.nio.file.Paths;
import software.constructs.IConstruct;

/** The main example in Java: examples/federated-pair/main.ts, line for line. */
public final class Main {
    public static void main(final String[] args) {
        final App app = new App();
        new FederatedPair(app, "federated-pair", new FederatedPairOptions()
                .image(System.getenv("CONSUL_MESH_IMAGE"))
                .startEnvoy(!"false".equals(System.getenv("CONSUL_MESH_START_ENVOY"))));
        // Where `npm run up` keeps the stacks' (encrypted) state: outside the repo. Else cdktf's default, ./terraform.<stack>.tfstate.
        final String stateDir = System.getenv("CONSUL_MESH_STATE_DIR");
        if (stateDir != null && !stateDir.isEmpty()) {
            for (final IConstruct child : app.getNode().getChildren()) {
                if (child instanceof TerraformStack) {
                    new LocalBackend((TerraformStack) child, LocalBackendConfig.builder()
                            .path(Paths.get(stateDir, child.getNode().getId() + ".tfstate").normalize().toString())
                            .build());
                }
            }
        }
        app.synth();
    }
}
