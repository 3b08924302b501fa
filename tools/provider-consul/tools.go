//go:build tools

// Package tools pins hashicorp/consul provider 2.22.1 for `go build`.
package tools

import _ "github.com/hashicorp/terraform-provider-consul"
