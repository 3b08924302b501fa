// Wrapper module for terraform-provider-consul 2.22.1 (its go.mod names the
// module without /v2, hence the pseudo-version) and its afero replace.
module cdktf-consul-mesh/tools/provider-consul

go 1.22

require github.com/hashicorp/terraform-provider-consul v1.1.1-0.20251017103405-b2798b33bd40

replace github.com/spf13/afero => github.com/spf13/afero v1.2.2
