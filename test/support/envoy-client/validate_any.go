package main

import (
	"fmt"

	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

type validator interface{ ValidateAll() error }

// validateAny unpacks an Any and validates it; for the HTTP connection manager it also
// validates each HTTP filter's and access log's typed_config (where ext_proc's settings live).
func validateAny(a *anypb.Any) int {
	if a == nil {
		return 0
	}
	m, err := a.UnmarshalNew()
	if err != nil {
		fmt.Println("unpack", a.GetTypeUrl()+":", err)
		return 1
	}
	if v, ok := m.(validator); ok {
		if err := v.ValidateAll(); err != nil {
			fmt.Println("validate", a.GetTypeUrl()+":", err)
			return 1
		}
	}
	if hcm, ok := m.(*hcmv3.HttpConnectionManager); ok {
		for _, f := range hcm.GetHttpFilters() {
			if code := validateAny(f.GetTypedConfig()); code != 0 {
				return code
			}
		}
		for _, l := range hcm.GetAccessLog() {
			if code := validateAny(l.GetTypedConfig()); code != 0 {
				return code
			}
		}
	}
	return 0
}
