// Answers "would `terraform plan` show a diff for this consul_config_entry
// right after apply?" the way terraform-provider-consul 2.22 decides it:
// Read fetches the entry through Consul's Go API client, marshals it, drops
// CreateIndex/ModifyIndex/Kind/Name and stores that as config_json; the
// config_json attribute's DiffSuppressFunc decodes both JSON documents with
// api.DecodeConfigEntry and compares the results with reflect.DeepEqual.
// A pointer field Consul returns as {} decodes to non-nil, its absence to nil:
// exactly the perpetual diffs this catches and a JSON comparison does not.
//
// stdin:  [{"address","token","datacenter","kind","name","config_json"}]
// stdout: [{"kind","name","state","equal","decoded_state","decoded_config","error"}]
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"

	"github.com/hashicorp/consul/api"
)

type query struct {
	Address    string `json:"address"`
	Token      string `json:"token"`
	Datacenter string `json:"datacenter"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	ConfigJSON string `json:"config_json"`
}

type answer struct {
	Kind          string `json:"kind"`
	Name          string `json:"name"`
	State         string `json:"state,omitempty"`
	Equal         bool   `json:"equal"`
	DecodedState  string `json:"decoded_state,omitempty"`
	DecodedConfig string `json:"decoded_config,omitempty"`
	Error         string `json:"error,omitempty"`
}

// decode is the provider's makeConfigEntry: the body plus kind and name, through Consul's decoder.
func decode(kind, name, body string) (api.ConfigEntry, error) {
	var raw map[string]interface{}
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		return nil, err
	}
	raw["kind"] = kind
	raw["name"] = name
	return api.DecodeConfigEntry(raw)
}

// stateOf is the provider's Read: the entry as the API client returns it, minus four fields.
func stateOf(q query) (string, error) {
	config := api.DefaultConfig()
	config.Address = q.Address
	config.Token = q.Token
	client, err := api.NewClient(config)
	if err != nil {
		return "", err
	}
	entry, _, err := client.ConfigEntries().Get(q.Kind, q.Name, &api.QueryOptions{Datacenter: q.Datacenter})
	if err != nil {
		return "", err
	}
	marshalled, err := json.Marshal(entry)
	if err != nil {
		return "", err
	}
	var fields map[string]interface{}
	if err := json.Unmarshal(marshalled, &fields); err != nil {
		return "", err
	}
	for _, k := range []string{"CreateIndex", "ModifyIndex", "Kind", "Name"} {
		delete(fields, k)
	}
	state, err := json.Marshal(fields)
	return string(state), err
}

func check(q query) answer {
	a := answer{Kind: q.Kind, Name: q.Name}
	state, err := stateOf(q)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	a.State = state
	old, errOld := decode(q.Kind, q.Name, state)
	cur, errCur := decode(q.Kind, q.Name, q.ConfigJSON)
	if errOld != nil || errCur != nil {
		a.Error = fmt.Sprintf("decoding state: %v; decoding config_json: %v", errOld, errCur)
		return a
	}
	a.Equal = reflect.DeepEqual(old, cur)
	if !a.Equal {
		s, _ := json.Marshal(old)
		c, _ := json.Marshal(cur)
		a.DecodedState, a.DecodedConfig = string(s), string(c)
	}
	return a
}

func main() {
	var queries []query
	if err := json.NewDecoder(os.Stdin).Decode(&queries); err != nil {
		fmt.Fprintln(os.Stderr, "provider-diff: reading stdin:", err)
		os.Exit(2)
	}
	answers := make([]answer, 0, len(queries))
	for _, q := range queries {
		answers = append(answers, check(q))
	}
	if err := json.NewEncoder(os.Stdout).Encode(answers); err != nil {
		os.Exit(2)
	}
}
