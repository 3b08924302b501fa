// The main example in Go: examples/federated-pair/main.ts, line for line.
// Two federated Consul datacenters on Docker, a mesh gateway in each, proxies
// sending cross-datacenter traffic through their local gateway, and one
// service that goes straight to the remote gateway.
package main

import (
	"os"
	"path/filepath"

	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdktf-consul-mesh/cdktf-consul-mesh-go/cdktfconsulmesh"
	"github.com/hashicorp/terraform-cdk-go/cdktf"
)

// FederatedPairOptions are the knobs the tests turn (local images, no Envoy); users get the defaults.
type FederatedPairOptions struct {
	Method     cdktfconsulmesh.FederationMethod
	Image      *string
	StartEnvoy *bool
	// Both datacenters' servers in a stack of their own (`<id>-servers`),
	// applied first, so a plain deploy heals a dead server. Default: on with
	// WAN gossip, the only method it works with.
	SeparateServers *bool
}

// FederatedPair is a TerraformStack (Go embeds it: jsii classes are built, not subclassed).
type FederatedPair struct {
	cdktf.TerraformStack
	Federation cdktfconsulmesh.ConsulFederation
}

func NewFederatedPair(scope constructs.Construct, id string, options *FederatedPairOptions) *FederatedPair {
	if options == nil {
		options = &FederatedPairOptions{}
	}
	stack := cdktf.NewTerraformStack(scope, jsii.String(id))
	// The tokens and keys the providers keep in state are encrypted at rest (set TF_VAR_state_passphrase).
	cdktfconsulmesh.NewStateEncryption(stack, jsii.String("state-encryption"), nil)
	method := options.Method
	if method == nil {
		method = cdktfconsulmesh.FederationMethod_WanGossip()
	}
	separate := !*method.ThroughMeshGateways()
	if options.SeparateServers != nil {
		separate = *options.SeparateServers
	}
	var servers cdktf.TerraformStack
	if separate {
		servers = cdktf.NewTerraformStack(scope, jsii.String(id+"-servers"))
		cdktfconsulmesh.NewStateEncryption(servers, jsii.String("state-encryption"), nil)
	}
	federation := cdktfconsulmesh.NewConsulFederation(stack, jsii.String("fed"), &cdktfconsulmesh.ConsulFederationProps{
		Primary:     &cdktfconsulmesh.DatacenterOptions{Name: jsii.String("dc1")},
		Secondaries: &[]*cdktfconsulmesh.DatacenterOptions{{Name: jsii.String("dc2")}},
		Method:      method,
		Image:       options.Image,
		// Containers, volumes, networks: applied before the Consul side, which is refreshed through them.
		ServerStack: servers,
	})
	for _, dc := range *federation.Datacenters() {
		dc.AddMeshGateway(jsii.String("gateway"), &cdktfconsulmesh.MeshGatewayOptions{StartEnvoy: options.StartEnvoy})
	}
	cdktfconsulmesh.NewProxyDefaults(stack, jsii.String("proxy-defaults"), &cdktfconsulmesh.ProxyDefaultsProps{
		Datacenter:      federation.Primary(),
		MeshGatewayMode: cdktfconsulmesh.MeshGatewayMode_Local(),
	})
	cdktfconsulmesh.NewServiceDefaults(stack, jsii.String("api-defaults"), &cdktfconsulmesh.ServiceDefaultsProps{
		Datacenter:      federation.Primary(),
		Service:         jsii.String("api"),
		Protocol:        cdktfconsulmesh.Protocol_HTTP,
		MeshGatewayMode: cdktfconsulmesh.MeshGatewayMode_Remote(),
	})

	// web in dc1 calls api in dc2 and billing in dc1. `npm run explain` shows
	// which gateway each call uses: proxy-defaults (local) decides api, even
	// though api's own service-defaults says remote.
	dc2 := federation.Datacenter(jsii.String("dc2"))
	cdktfconsulmesh.NewMeshService(stack, jsii.String("api"), &cdktfconsulmesh.MeshServiceProps{
		Datacenter: dc2, Service: jsii.String("api"), Port: jsii.Number(8080),
	})
	cdktfconsulmesh.NewMeshService(stack, jsii.String("web"), &cdktfconsulmesh.MeshServiceProps{
		Datacenter: federation.Primary(),
		Service:    jsii.String("web"),
		Port:       jsii.Number(8080),
		Upstreams: &[]*cdktfconsulmesh.UpstreamOptions{
			{Service: jsii.String("api"), Datacenter: dc2.Name(), LocalBindPort: jsii.Number(9191)},
			{Service: jsii.String("billing"), LocalBindPort: jsii.Number(9192)},
		},
	})
	// Writes the mode table, its diagram and the services' agent definitions beside cdk.tf.json.
	cdktfconsulmesh.NewMeshGatewayModeReport(stack, jsii.String("modes"), nil)
	return &FederatedPair{TerraformStack: stack, Federation: federation}
}

func main() {
	app := cdktf.NewApp(nil)
	options := &FederatedPairOptions{StartEnvoy: jsii.Bool(os.Getenv("CONSUL_MESH_START_ENVOY") != "false")}
	if image, set := os.LookupEnv("CONSUL_MESH_IMAGE"); set {
		options.Image = jsii.String(image)
	}
	NewFederatedPair(app, "federated-pair", options)
	// Where `npm run up` keeps the stacks' (encrypted) state: outside the repo. Else cdktf's default, ./terraform.<stack>.tfstate.
	if stateDir := os.Getenv("CONSUL_MESH_STATE_DIR"); stateDir != "" {
		for _, child := range *app.Node().Children() {
			if *cdktf.TerraformStack_IsStack(child) {
				stack := cdktf.TerraformStack_Of(child)
				cdktf.NewLocalBackend(stack, &cdktf.LocalBackendConfig{Path: jsii.String(filepath.Join(stateDir, *stack.Node().Id()+".tfstate"))})
			}
		}
	}
	app.Synth()
}
