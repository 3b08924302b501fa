//go:build tools

// Package tools pins the Consul agent so `go build github.com/hashicorp/consul`
// resolves here. v1.14.11 is the newest release whose whole module graph is
// MPL-2.0: every 1.15+ requires consul/envoyextensions and consul/troubleshoot
// (not open source), and 1.17+ is itself BSL. tools/build.sh checks the graph.
package tools

import _ "github.com/hashicorp/consul"
