//go:build tools

// Package tools pins the Consul that test/e2e/day2.test.ts upgrades from to
// tools/consul's. v1.14.8 is the newest earlier 1.14 patch the module proxy
// serves here (1.14.9 and 1.14.10 are refused). tools/build.sh checks the graph.
package tools

import _ "github.com/hashicorp/consul"
