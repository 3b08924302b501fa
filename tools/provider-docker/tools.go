//go:build tools

// Package tools pins kreuzwerker/docker provider 3.6.2 for `go build`.
package tools

import _ "github.com/terraform-providers/terraform-provider-docker"
