// Wrapper module for kreuzwerker/docker provider 3.6.2. Its go.mod still names
// the module github.com/terraform-providers/terraform-provider-docker, so it can
// only be required under that path and replaced with the real repository.
module cdktf-consul-mesh/tools/provider-docker

go 1.22

require github.com/terraform-providers/terraform-provider-docker v0.0.0-00010101000000-000000000000

replace github.com/terraform-providers/terraform-provider-docker => github.com/kreuzwerker/terraform-provider-docker v0.0.0-20250613214648-2f20f8c3ce82
