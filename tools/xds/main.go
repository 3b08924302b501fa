// cmesh-xds asks Consul's xDS server (its gRPC port) for what it would give
// an Envoy running the proxy with the given service ID, over delta ADS as
// Envoy does, and prints a summary as JSON: every cluster (with its SNI),
// every cluster's endpoints, every listener with its filter chains, and
// every route configuration those listeners name (RDS): virtual hosts, their
// domains and the clusters their routes send to.
// Envoy itself cannot run on the machines this project is tested on; this
// is the line up to which gateway routing can be proven.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

const (
	clusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	endpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	listenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	routeType    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

type cluster struct {
	Name string `json:"name"`
	Type string `json:"type"`
	SNI  string `json:"sni,omitempty"`
	// The file the cluster's TLS trusts as CA (a terminating gateway's linked service).
	CAFile string `json:"caFile,omitempty"`
}

type filterChain struct {
	ServerNames []string `json:"serverNames,omitempty"`
	Filters     []string `json:"filters"`
	// The route configuration an HTTP connection manager takes over RDS.
	RDS string `json:"rds,omitempty"`
}

type virtualHost struct {
	Name     string   `json:"name"`
	Domains  []string `json:"domains"`
	Clusters []string `json:"clusters"`
}

type routeConfig struct {
	Name         string        `json:"name"`
	VirtualHosts []virtualHost `json:"virtualHosts"`
}

type listener struct {
	Name         string        `json:"name"`
	Address      string        `json:"address"`
	FilterChains []filterChain `json:"filterChains"`
}

type summary struct {
	Clusters  []cluster           `json:"clusters"`
	Endpoints map[string][]string `json:"endpoints"`
	Listeners []listener          `json:"listeners"`
	Routes    []routeConfig       `json:"routes"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8502", "Consul's plaintext gRPC address")
	token := flag.String("token", os.Getenv("CONSUL_HTTP_TOKEN"), "ACL token (default $CONSUL_HTTP_TOKEN)")
	node := flag.String("proxy-id", "", "service ID of the proxy or gateway (Envoy's node id)")
	service := flag.String("service", "", "its service name (Envoy's node cluster)")
	envoy := flag.String("envoy-version", "1.24.0", "the Envoy version to present (Consul serves what that version supports)")
	timeout := flag.Duration("timeout", 15*time.Second, "give up after this long")
	flag.Parse()
	if *node == "" {
		fail("usage: cmesh-xds -addr host:port -token T -proxy-id ID [-service NAME]")
	}
	var major, minor, patch uint32
	if _, err := fmt.Sscanf(*envoy, "%d.%d.%d", &major, &minor, &patch); err != nil {
		fail("-envoy-version must be MAJOR.MINOR.PATCH, got %q", *envoy)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail("connecting to %s: %v", *addr, err)
	}
	defer conn.Close()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-consul-token", *token)
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		fail("opening ADS stream: %v", err)
	}

	id := &corev3.Node{
		Id:            *node,
		Cluster:       *service,
		UserAgentName: "envoy",
		UserAgentVersionType: &corev3.Node_UserAgentBuildVersion{UserAgentBuildVersion: &corev3.BuildVersion{
			Version: &typev3.SemanticVersion{MajorNumber: major, MinorNumber: minor, Patch: patch},
		}},
	}
	send := func(r *discoveryv3.DeltaDiscoveryRequest) {
		if err := stream.Send(r); err != nil {
			fail("sending %s: %v", r.TypeUrl, err)
		}
	}
	// Wildcard subscriptions to clusters and listeners, as Envoy starts.
	send(&discoveryv3.DeltaDiscoveryRequest{Node: id, TypeUrl: clusterType})
	send(&discoveryv3.DeltaDiscoveryRequest{Node: id, TypeUrl: listenerType})

	out := summary{Endpoints: map[string][]string{}, Routes: []routeConfig{}}
	var eds, rds []string
	routes := map[string][]string{}
	got := map[string]bool{}
	for !(got[clusterType] && got[listenerType] && allPresent(eds, out.Endpoints) && allPresent(rds, routes)) {
		resp, err := stream.Recv()
		if err != nil {
			fail("receiving (have clusters=%v listeners=%v, endpoints for %d of %d clusters): %v",
				got[clusterType], got[listenerType], len(out.Endpoints), len(eds), err)
		}
		got[resp.TypeUrl] = true
		for _, r := range resp.Resources {
			switch resp.TypeUrl {
			case clusterType:
				c := &clusterv3.Cluster{}
				unmarshal(r.Resource.GetValue(), c)
				out.Clusters = append(out.Clusters, summarizeCluster(c))
				if c.GetType() == clusterv3.Cluster_EDS {
					eds = append(eds, c.Name)
				} else if la := c.GetLoadAssignment(); la != nil {
					out.Endpoints[c.Name] = endpoints(la)
				}
			case endpointType:
				la := &endpointv3.ClusterLoadAssignment{}
				unmarshal(r.Resource.GetValue(), la)
				out.Endpoints[la.ClusterName] = endpoints(la)
			case listenerType:
				l := &listenerv3.Listener{}
				unmarshal(r.Resource.GetValue(), l)
				summarized := summarizeListener(l)
				out.Listeners = append(out.Listeners, summarized)
				for _, fc := range summarized.FilterChains {
					if fc.RDS != "" {
						rds = append(rds, fc.RDS)
					}
				}
			case routeType:
				rc := &routev3.RouteConfiguration{}
				unmarshal(r.Resource.GetValue(), rc)
				summarized := summarizeRoutes(rc)
				out.Routes = append(out.Routes, summarized)
				routes[rc.Name] = nil
			}
		}
		send(&discoveryv3.DeltaDiscoveryRequest{Node: id, TypeUrl: resp.TypeUrl, ResponseNonce: resp.Nonce})
		if resp.TypeUrl == clusterType && len(eds) > 0 {
			send(&discoveryv3.DeltaDiscoveryRequest{Node: id, TypeUrl: endpointType, ResourceNamesSubscribe: eds})
		}
		if resp.TypeUrl == listenerType && len(rds) > 0 {
			send(&discoveryv3.DeltaDiscoveryRequest{Node: id, TypeUrl: routeType, ResourceNamesSubscribe: rds})
		}
	}

	sort.Slice(out.Clusters, func(i, j int) bool { return out.Clusters[i].Name < out.Clusters[j].Name })
	sort.Slice(out.Listeners, func(i, j int) bool { return out.Listeners[i].Name < out.Listeners[j].Name })
	sort.Slice(out.Routes, func(i, j int) bool { return out.Routes[i].Name < out.Routes[j].Name })
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail("writing: %v", err)
	}
}

func allPresent(names []string, have map[string][]string) bool {
	for _, n := range names {
		if _, ok := have[n]; !ok {
			return false
		}
	}
	return true
}

func summarizeCluster(c *clusterv3.Cluster) cluster {
	s := cluster{Name: c.Name, Type: c.GetType().String()}
	if ts := c.GetTransportSocket().GetTypedConfig(); ts != nil {
		tls := &tlsv3.UpstreamTlsContext{}
		if proto.Unmarshal(ts.GetValue(), tls) == nil {
			s.SNI = tls.Sni
			s.CAFile = tls.GetCommonTlsContext().GetValidationContext().GetTrustedCa().GetFilename()
		}
	}
	return s
}

func endpoints(la *endpointv3.ClusterLoadAssignment) []string {
	addrs := []string{}
	for _, group := range la.Endpoints {
		for _, e := range group.LbEndpoints {
			if sa := e.GetEndpoint().GetAddress().GetSocketAddress(); sa != nil {
				addrs = append(addrs, fmt.Sprintf("%s:%d", sa.Address, sa.GetPortValue()))
			}
		}
	}
	sort.Strings(addrs)
	return addrs
}

func summarizeListener(l *listenerv3.Listener) listener {
	s := listener{Name: l.Name, FilterChains: []filterChain{}}
	if sa := l.GetAddress().GetSocketAddress(); sa != nil {
		s.Address = fmt.Sprintf("%s:%d", sa.Address, sa.GetPortValue())
	}
	for _, fc := range l.FilterChains {
		chain := filterChain{ServerNames: fc.GetFilterChainMatch().GetServerNames(), Filters: []string{}}
		for _, f := range fc.Filters {
			chain.Filters = append(chain.Filters, f.Name)
			hcm := &hcmv3.HttpConnectionManager{}
			if tc := f.GetTypedConfig(); tc != nil && f.Name == "envoy.filters.network.http_connection_manager" && proto.Unmarshal(tc.GetValue(), hcm) == nil {
				chain.RDS = hcm.GetRds().GetRouteConfigName()
			}
		}
		s.FilterChains = append(s.FilterChains, chain)
	}
	return s
}

func summarizeRoutes(rc *routev3.RouteConfiguration) routeConfig {
	s := routeConfig{Name: rc.Name, VirtualHosts: []virtualHost{}}
	for _, vh := range rc.VirtualHosts {
		v := virtualHost{Name: vh.Name, Domains: vh.Domains, Clusters: []string{}}
		for _, r := range vh.Routes {
			if c := r.GetRoute().GetCluster(); c != "" {
				v.Clusters = append(v.Clusters, c)
			}
			for _, wc := range r.GetRoute().GetWeightedClusters().GetClusters() {
				v.Clusters = append(v.Clusters, wc.Name)
			}
		}
		s.VirtualHosts = append(s.VirtualHosts, v)
	}
	sort.Slice(s.VirtualHosts, func(i, j int) bool { return s.VirtualHosts[i].Name < s.VirtualHosts[j].Name })
	return s
}

func unmarshal(b []byte, m proto.Message) {
	if err := proto.Unmarshal(b, m); err != nil {
		fail("decoding %T: %v", m, err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cmesh-xds: "+format+"\n", args...)
	os.Exit(1)
}
