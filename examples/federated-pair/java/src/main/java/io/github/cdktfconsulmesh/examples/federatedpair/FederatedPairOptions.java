package io.github.cdktfconsulmesh.examples.federatedpair;

import io.github.cdktfconsulmesh.FederationMethod;

/** Knobs the tests turn (local images, no Envoy); users get the defaults. Unset (null) means the default. */
public final class FederatedPairOptions {
    FederationMethod method;
    String image;
    Boolean startEnvoy;
    Boolean separateServers;

    public FederatedPairOptions method(final FederationMethod method) {
        this.method = method;
        return this;
    }

    public FederatedPairOptions image(final String image) {
        this.image = image;
        return this;
    }

    public FederatedPairOptions startEnvoy(final Boolean startEnvoy) {
        this.startEnvoy = startEnvoy;
        return this;
    }

    /**
     * Both datacenters' servers in a stack of their own ({@code <id>-servers}),
     * applied first, so a plain deploy heals a dead server. Default: on with
     * WAN gossip, the only method it works with.
     */
    public FederatedPairOptions separateServers(final Boolean separateServers) {
        this.separateServers = separateServers;
        return this;
    }
}
