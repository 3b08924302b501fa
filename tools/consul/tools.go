//go:build tools

// Package tools pins the Consul agent so `go build github.com/hashicorp/consul` resolves here.
package tools

import _ "github.com/hashicorp/consul"
