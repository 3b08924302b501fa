//go:build tools

// Package tools pins OpenTofu (MPL-2.0), the Terraform CLI the tests drive.
package tools

import _ "github.com/opentofu/opentofu/cmd/tofu"
