package main

import (
	"fmt"
	"io"
	"os"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"

	// Register the typed_config types the sample config names, so protojson resolves its Anys.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

// validateBootstrap reads an Envoy bootstrap config as JSON on stdin, decodes it strictly into
// Envoy's Bootstrap message (unknown fields and unknown type URLs fail) and runs Envoy's
// protoc-gen-validate rules on it, recursing into typed_config. Prints "ok" or the errors.
func validateBootstrap() int {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(data, &b); err != nil {
		fmt.Println("decode:", err)
		return 1
	}
	if err := b.ValidateAll(); err != nil {
		fmt.Println("validate:", err)
		return 1
	}
	// ValidateAll does not look inside Any: check each typed_config too.
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			if code := validateAny(fc.GetTransportSocket().GetTypedConfig()); code != 0 {
				return code
			}
			for _, f := range fc.GetFilters() {
				if code := validateAny(f.GetTypedConfig()); code != 0 {
					return code
				}
			}
		}
	}
	for _, c := range b.GetStaticResources().GetClusters() {
		if code := validateAny(c.GetTransportSocket().GetTypedConfig()); code != 0 {
			return code
		}
		for _, a := range c.GetTypedExtensionProtocolOptions() {
			if code := validateAny(a); code != 0 {
				return code
			}
		}
	}
	fmt.Println("ok")
	return 0
}
