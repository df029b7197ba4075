// Command envoy-client speaks for Envoy's ext_proc HTTP filter: it drives an
// envoy.service.ext_proc.v3.ExternalProcessor over gRPC using go-control-plane's generated
// types (Envoy's own API definitions), so the bytes on the wire are Envoy's.
//
// Usage: envoy-client -addr 127.0.0.1:PORT [-ca CA.pem [-cert C.pem -key C.key] [-server-name N]] < scenarios.json > results.json
//
//	(TLS when -ca is given, mTLS with -cert/-key, as Envoy's transport_socket does it)
//	envoy-client -validate-bootstrap < envoy.json   (checks a config against Envoy's API)
//
// Input is a JSON array of scenarios; output is a JSON array of results, one per scenario, each
// holding every ProcessingResponse received, as protojson with proto field names.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	procmode "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extproc "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// Scenario describes one HTTP request as Envoy's filter would present it.
type Scenario struct {
	Name string `json:"name"`
	// Headers in order, pseudo-headers included: [["":method", "GET"], ...].
	Headers [][2]string `json:"headers"`
	// "raw" (default) fills raw_value as current Envoy does; "value" fills value as older Envoy does.
	HeaderEncoding string `json:"headerEncoding"`
	// Body chunks as they reach Envoy from the client (strings, UTF-8). Absent: no body.
	Body []string `json:"body"`
	// Trailers sent after the body when RequestTrailerMode is SEND.
	Trailers [][2]string `json:"trailers"`
	// Envoy's configured request_body_mode: NONE, STREAMED, BUFFERED (default), BUFFERED_PARTIAL,
	// or FULL_DUPLEX_STREAMED (every chunk and the trailers sent as they arrive, replies read
	// as they come, a StreamedImmediateResponse recorded piece by piece in Result.Streamed).
	RequestBodyMode string `json:"requestBodyMode"`
	// Send request_trailers (request_trailer_mode SEND).
	SendTrailers bool `json:"sendTrailers"`
	// The filter's allow_mode_override.
	AllowModeOverride bool `json:"allowModeOverride"`
	// Omit protocol_config, as Envoy releases before it existed do.
	NoProtocolConfig bool `json:"noProtocolConfig"`
	// The filter's observability_mode: send everything, expect no replies.
	Observability bool `json:"observability"`
	// Envoy's per_connection_buffer_limit for BUFFERED: over it Envoy answers 413 itself.
	BufferLimit int `json:"bufferLimit"`
	// message_timeout in milliseconds (default 30000).
	MessageTimeoutMs int `json:"messageTimeoutMs"`
	// max_message_timeout in milliseconds: the longest override_message_timeout honoured (0: none).
	MaxMessageTimeoutMs int `json:"maxMessageTimeoutMs"`
	// Raw: protojson ProcessingRequests sent as is, one reply awaited after each.
	// Used for protocol-violation tests; replaces the Envoy-like flow above.
	Raw []json.RawMessage `json:"raw"`
	// With Raw: send every message at once without awaiting replies (as FULL_DUPLEX_STREAMED
	// does), then read replies until the server ends the stream.
	RawNoWait bool `json:"rawNoWait"`
	// Request attributes sent with the headers (the filter's request_attributes), by namespace.
	Attributes map[string]map[string]any `json:"attributes"`
	// Forwarded dynamic metadata (metadata_options.forwarding_namespaces) sent with the headers.
	Metadata map[string]map[string]any `json:"metadata"`
}

// Streamed is a local reply received as StreamedImmediateResponse pieces (FULL_DUPLEX_STREAMED).
type Streamed struct {
	Status  int32       `json:"status"`
	Headers [][2]string `json:"headers"`
	// Body pieces in arrival order (text), and whether any piece was over 64 KiB.
	Chunks    []string    `json:"chunks"`
	Oversized bool        `json:"oversized"`
	Trailers  [][2]string `json:"trailers,omitempty"`
	// Ended with end_of_stream or trailers; Problem says what broke Envoy's rules (empty when none).
	Ended   bool   `json:"ended"`
	Problem string `json:"problem,omitempty"`
}

// Result is what happened to one scenario.
type Result struct {
	Name string `json:"name"`
	// Kinds of the ProcessingRequests sent, in order.
	Sent []string `json:"sent"`
	// Every ProcessingResponse received, in order (protojson, proto field names).
	Responses []json.RawMessage `json:"responses"`
	// immediate | streamed (a StreamedImmediateResponse) | forwarded (Envoy would send the request
	// upstream) | observed | local_413 | raw (RawNoWait: see Responses) | error
	Outcome string `json:"outcome"`
	// The body Envoy would forward upstream (outcome "forwarded").
	ForwardedBody string `json:"forwardedBody,omitempty"`
	Error         string `json:"error,omitempty"`
	// How the server ended the stream: "ok" or the gRPC error.
	StreamEnd string `json:"streamEnd"`
	// The ImmediateResponse's HTTP status as a number (protojson writes known codes by enum name).
	ImmediateStatus int32 `json:"immediateStatus,omitempty"`
	// override_message_timeout values received, in ms, and whether each was honoured.
	Overrides []Override `json:"overrides,omitempty"`
	// The streamed local reply (outcome "streamed").
	Streamed *Streamed `json:"streamed,omitempty"`
}

// Override is one override_message_timeout the server asked for.
type Override struct {
	Ms       int64 `json:"ms"`
	Honoured bool  `json:"honoured"`
}

var marshal = protojson.MarshalOptions{UseProtoNames: true}

func main() {
	addr := flag.String("addr", "", "host:port of the ext_proc server")
	caFile := flag.String("ca", "", "PEM CA bundle to verify the server with (TLS; plaintext when absent)")
	certFile := flag.String("cert", "", "PEM client certificate (mTLS)")
	keyFile := flag.String("key", "", "PEM client key (mTLS)")
	serverName := flag.String("server-name", "", "name to verify the server certificate against (default: the host of -addr)")
	validate := flag.Bool("validate-bootstrap", false, "check an Envoy bootstrap config (JSON on stdin) against Envoy's API and exit")
	flag.Parse()
	if *validate {
		os.Exit(validateBootstrap())
	}
	if *addr == "" {
		fmt.Fprintln(os.Stderr, "envoy-client: -addr is required")
		os.Exit(2)
	}
	var scenarios []Scenario
	if err := json.NewDecoder(os.Stdin).Decode(&scenarios); err != nil {
		fmt.Fprintln(os.Stderr, "envoy-client: bad scenario JSON:", err)
		os.Exit(2)
	}
	creds := insecure.NewCredentials()
	if *caFile != "" {
		tlsConfig, err := clientTLS(*caFile, *certFile, *keyFile, *serverName)
		if err != nil {
			fmt.Fprintln(os.Stderr, "envoy-client:", err)
			os.Exit(2)
		}
		creds = credentials.NewTLS(tlsConfig)
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		fmt.Fprintln(os.Stderr, "envoy-client:", err)
		os.Exit(1)
	}
	defer conn.Close()
	client := extproc.NewExternalProcessorClient(conn)
	results := make([]Result, 0, len(scenarios))
	for _, sc := range scenarios {
		results = append(results, run(client, sc))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, "envoy-client:", err)
		os.Exit(1)
	}
}

type stream struct {
	s       extproc.ExternalProcessor_ProcessClient
	res     *Result
	timeout time.Duration
	// max_message_timeout; 0 disables overrides, as in Envoy.
	maxTimeout time.Duration
	replies    chan recvResult
}

type recvResult struct {
	msg *extproc.ProcessingResponse
	err error
}

func (st *stream) send(kind string, req *extproc.ProcessingRequest) error {
	st.res.Sent = append(st.res.Sent, kind)
	return st.s.Send(req)
}

// recv waits for one reply, at most message_timeout, as Envoy's filter does. A message that only
// carries override_message_timeout restarts the timer with its value when max_message_timeout
// allows it (once per message; Envoy ignores the rest of such a message) and is not the reply.
func (st *stream) recv() (*extproc.ProcessingResponse, error) {
	timer := time.NewTimer(st.timeout)
	defer timer.Stop()
	overridden := false
	for {
		select {
		case r := <-st.replies:
			if r.err != nil {
				return nil, r.err
			}
			if d := r.msg.GetOverrideMessageTimeout(); d != nil {
				want := d.AsDuration()
				ok := !overridden && st.maxTimeout > 0 && want >= time.Millisecond && want <= st.maxTimeout
				st.res.Overrides = append(st.res.Overrides, Override{Ms: want.Milliseconds(), Honoured: ok})
				if ok {
					overridden = true
					if !timer.Stop() {
						<-timer.C
					}
					timer.Reset(want)
				}
				continue
			}
			b, err := marshal.Marshal(r.msg)
			if err != nil {
				return nil, err
			}
			st.res.Responses = append(st.res.Responses, b)
			if ir := r.msg.GetImmediateResponse(); ir != nil {
				st.res.ImmediateStatus = int32(ir.GetStatus().GetCode())
			}
			return r.msg, nil
		case <-timer.C:
			return nil, errors.New("message_timeout expired (Envoy would answer 504)")
		}
	}
}

func headerMap(pairs [][2]string, encoding string) *corev3.HeaderMap {
	m := &corev3.HeaderMap{}
	for _, p := range pairs {
		h := &corev3.HeaderValue{Key: p[0]}
		if encoding == "value" {
			h.Value = p[1]
		} else {
			h.RawValue = []byte(p[1])
		}
		m.Headers = append(m.Headers, h)
	}
	return m
}

func bodyMode(name string) procmode.ProcessingMode_BodySendMode {
	if name == "" {
		return procmode.ProcessingMode_BUFFERED
	}
	v, ok := procmode.ProcessingMode_BodySendMode_value[name]
	if !ok {
		panic("unknown body mode " + name)
	}
	return procmode.ProcessingMode_BodySendMode(v)
}

func run(client extproc.ExternalProcessorClient, sc Scenario) Result {
	res := Result{Name: sc.Name, Sent: []string{}, Responses: []json.RawMessage{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := client.Process(ctx)
	if err != nil {
		res.Outcome, res.Error = "error", err.Error()
		return res
	}
	timeout := 30 * time.Second
	if sc.MessageTimeoutMs > 0 {
		timeout = time.Duration(sc.MessageTimeoutMs) * time.Millisecond
	}
	st := &stream{s: s, res: &res, timeout: timeout, maxTimeout: time.Duration(sc.MaxMessageTimeoutMs) * time.Millisecond, replies: make(chan recvResult, 64)}
	go func() {
		for {
			m, err := s.Recv()
			st.replies <- recvResult{m, err}
			if err != nil {
				return
			}
		}
	}()
	if sc.Raw != nil && sc.RawNoWait {
		runRawNoWait(st, sc)
	} else if sc.Raw != nil {
		runRaw(st, sc)
	} else if bodyMode(sc.RequestBodyMode) == procmode.ProcessingMode_FULL_DUPLEX_STREAMED {
		runFullDuplex(st, sc)
	} else {
		runEnvoyFlow(st, sc)
	}
	// Envoy closes its side after it has its answer; then read to the end of the stream.
	_ = s.CloseSend()
	res.StreamEnd = drain(st)
	return res
}

// drain reads what is left on the stream; extra replies are recorded (a test can see them).
func drain(st *stream) string {
	for {
		select {
		case r := <-st.replies:
			if r.err == io.EOF {
				return "ok"
			}
			if r.err != nil {
				return r.err.Error()
			}
			b, _ := marshal.Marshal(r.msg)
			st.res.Responses = append(st.res.Responses, b)
		case <-time.After(st.timeout):
			return "server did not end the stream"
		}
	}
}

func runRaw(st *stream, sc Scenario) {
	for _, raw := range sc.Raw {
		req := &extproc.ProcessingRequest{}
		if err := protojson.Unmarshal(raw, req); err != nil {
			st.res.Outcome, st.res.Error = "error", "bad raw message: "+err.Error()
			return
		}
		if err := st.send(kindOf(req), req); err != nil {
			st.res.Outcome, st.res.Error = "error", err.Error()
			return
		}
		if sc.Observability {
			continue
		}
		r, err := st.recv()
		if err != nil {
			st.res.Outcome, st.res.Error = "error", err.Error()
			return
		}
		if r.GetImmediateResponse() != nil {
			st.res.Outcome = "immediate"
			return
		}
	}
	if sc.Observability {
		st.res.Outcome = "observed"
	} else {
		st.res.Outcome = "forwarded"
	}
}

func kindOf(req *extproc.ProcessingRequest) string {
	switch req.Request.(type) {
	case *extproc.ProcessingRequest_RequestHeaders:
		return "request_headers"
	case *extproc.ProcessingRequest_RequestBody:
		return "request_body"
	case *extproc.ProcessingRequest_RequestTrailers:
		return "request_trailers"
	case *extproc.ProcessingRequest_ResponseHeaders:
		return "response_headers"
	case *extproc.ProcessingRequest_ResponseBody:
		return "response_body"
	case *extproc.ProcessingRequest_ResponseTrailers:
		return "response_trailers"
	default:
		return "none"
	}
}

// runEnvoyFlow follows the decoding path of Envoy's ext_proc filter: headers, then (per the
// body mode, possibly changed by mode_override) the body, then trailers; one reply per message,
// and an ImmediateResponse ends processing.
func runEnvoyFlow(st *stream, sc Scenario) {
	mode := bodyMode(sc.RequestBodyMode)
	hasBody := sc.Body != nil
	endOfStream := !hasBody && len(sc.Trailers) == 0
	headers := &extproc.ProcessingRequest{
		Request: &extproc.ProcessingRequest_RequestHeaders{RequestHeaders: &extproc.HttpHeaders{
			Headers:     headerMap(sc.Headers, sc.HeaderEncoding),
			EndOfStream: endOfStream,
		}},
		ObservabilityMode: sc.Observability,
	}
	if !sc.NoProtocolConfig {
		headers.ProtocolConfig = &extproc.ProtocolConfiguration{RequestBodyMode: mode, ResponseBodyMode: procmode.ProcessingMode_NONE}
	}
	if err := addContext(headers, sc); err != nil {
		st.res.Outcome, st.res.Error = "error", err.Error()
		return
	}
	if err := st.send("request_headers", headers); err != nil {
		st.res.Outcome, st.res.Error = "error", err.Error()
		return
	}
	if sc.Observability {
		// The filter does not wait for replies; it sends what its mode says and moves on.
		if hasBody && mode != procmode.ProcessingMode_NONE {
			for i, c := range sc.Body {
				_ = st.send("request_body", &extproc.ProcessingRequest{
					Request:           &extproc.ProcessingRequest_RequestBody{RequestBody: &extproc.HttpBody{Body: []byte(c), EndOfStream: i == len(sc.Body)-1}},
					ObservabilityMode: true,
				})
			}
		}
		st.res.Outcome = "observed"
		return
	}
	r, err := st.recv()
	if err != nil {
		st.res.Outcome, st.res.Error = "error", err.Error()
		return
	}
	if r.GetImmediateResponse() != nil {
		st.res.Outcome = "immediate"
		return
	}
	if r.GetRequestHeaders() == nil {
		st.res.Outcome, st.res.Error = "error", "spurious reply to request_headers"
		return
	}
	if o := r.GetModeOverride(); o != nil && sc.AllowModeOverride {
		mode = o.GetRequestBodyMode()
	}
	var forwarded []byte
	if hasBody {
		all := []byte{}
		for _, c := range sc.Body {
			all = append(all, c...)
		}
		switch mode {
		case procmode.ProcessingMode_NONE:
			forwarded = all
		case procmode.ProcessingMode_BUFFERED, procmode.ProcessingMode_BUFFERED_PARTIAL:
			if mode == procmode.ProcessingMode_BUFFERED && sc.BufferLimit > 0 && len(all) > sc.BufferLimit {
				st.res.Outcome = "local_413"
				return
			}
			part := all
			eos := len(sc.Trailers) == 0
			if mode == procmode.ProcessingMode_BUFFERED_PARTIAL && sc.BufferLimit > 0 && len(all) > sc.BufferLimit {
				part, eos = all[:sc.BufferLimit], false
			}
			if done, ok := exchangeBody(st, part, eos); !ok || done {
				return
			}
			forwarded = all
		case procmode.ProcessingMode_STREAMED:
			for i, c := range sc.Body {
				eos := i == len(sc.Body)-1 && len(sc.Trailers) == 0
				if done, ok := exchangeBody(st, []byte(c), eos); !ok || done {
					return
				}
			}
			forwarded = all
		default:
			st.res.Outcome, st.res.Error = "error", "body mode not simulated: "+mode.String()
			return
		}
	}
	if len(sc.Trailers) > 0 && sc.SendTrailers {
		if err := st.send("request_trailers", &extproc.ProcessingRequest{
			Request: &extproc.ProcessingRequest_RequestTrailers{RequestTrailers: &extproc.HttpTrailers{Trailers: headerMap(sc.Trailers, sc.HeaderEncoding)}},
		}); err != nil {
			st.res.Outcome, st.res.Error = "error", err.Error()
			return
		}
		r, err := st.recv()
		if err != nil {
			st.res.Outcome, st.res.Error = "error", err.Error()
			return
		}
		if r.GetImmediateResponse() != nil {
			st.res.Outcome = "immediate"
			return
		}
		if r.GetRequestTrailers() == nil {
			st.res.Outcome, st.res.Error = "error", "spurious reply to request_trailers"
			return
		}
	}
	st.res.Outcome = "forwarded"
	st.res.ForwardedBody = string(forwarded)
}

// exchangeBody sends one request_body message and reads its reply. done: an ImmediateResponse
// ended processing; ok=false: an error was recorded.
func exchangeBody(st *stream, chunk []byte, eos bool) (done bool, ok bool) {
	if err := st.send("request_body", &extproc.ProcessingRequest{
		Request: &extproc.ProcessingRequest_RequestBody{RequestBody: &extproc.HttpBody{Body: chunk, EndOfStream: eos}},
	}); err != nil {
		st.res.Outcome, st.res.Error = "error", err.Error()
		return false, false
	}
	r, err := st.recv()
	if err != nil {
		st.res.Outcome, st.res.Error = "error", err.Error()
		return false, false
	}
	if r.GetImmediateResponse() != nil {
		st.res.Outcome = "immediate"
		return true, true
	}
	if r.GetRequestBody() == nil {
		st.res.Outcome, st.res.Error = "error", "spurious reply to request_body"
		return false, false
	}
	return false, true
}

// clientTLS is what Envoy's UpstreamTlsContext sets up: a trusted CA, optionally a client certificate.
func clientTLS(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// addContext puts the scenario's attributes and forwarded metadata on the headers message, where
// Envoy's filter puts them.
func addContext(req *extproc.ProcessingRequest, sc Scenario) error {
	if len(sc.Attributes) > 0 {
		req.Attributes = map[string]*structpb.Struct{}
		for ns, fields := range sc.Attributes {
			v, err := structpb.NewStruct(fields)
			if err != nil {
				return err
			}
			req.Attributes[ns] = v
		}
	}
	if len(sc.Metadata) > 0 {
		req.MetadataContext = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{}}
		for ns, fields := range sc.Metadata {
			v, err := structpb.NewStruct(fields)
			if err != nil {
				return err
			}
			req.MetadataContext.FilterMetadata[ns] = v
		}
	}
	return nil
}

// maxStreamedPiece is the largest body piece Envoy's API recommends in FULL_DUPLEX_STREAMED mode.
const maxStreamedPiece = 64 * 1024

// runFullDuplex plays Envoy's FULL_DUPLEX_STREAMED mode: headers, then every body chunk and the
// trailers (trailer mode is SEND in this mode) as they arrive, without waiting for replies (there
// is no message timeout in this mode). Replies are read as they come: a request_headers CONTINUE
// means Envoy routes the request and forwards the body chunks the server streams back; a
// StreamedImmediateResponse is a local reply, headers first, then body pieces, then the end.
func runFullDuplex(st *stream, sc Scenario) {
	hasBody := sc.Body != nil
	headers := &extproc.ProcessingRequest{
		Request: &extproc.ProcessingRequest_RequestHeaders{RequestHeaders: &extproc.HttpHeaders{
			Headers:     headerMap(sc.Headers, sc.HeaderEncoding),
			EndOfStream: !hasBody && len(sc.Trailers) == 0,
		}},
		ProtocolConfig: &extproc.ProtocolConfiguration{RequestBodyMode: procmode.ProcessingMode_FULL_DUPLEX_STREAMED, ResponseBodyMode: procmode.ProcessingMode_NONE},
	}
	if err := addContext(headers, sc); err != nil {
		st.res.Outcome, st.res.Error = "error", err.Error()
		return
	}
	// The send side runs on its own, as in Envoy; a send after the server ended the stream fails
	// and stops it (Envoy stops sending once the local reply is done).
	sent := make(chan []string, 1)
	go func() {
		kinds := []string{}
		send := func(kind string, req *extproc.ProcessingRequest) bool {
			kinds = append(kinds, kind)
			return st.s.Send(req) == nil
		}
		defer func() { sent <- kinds }()
		if !send("request_headers", headers) {
			return
		}
		for i, c := range sc.Body {
			eos := i == len(sc.Body)-1 && len(sc.Trailers) == 0
			if !send("request_body", &extproc.ProcessingRequest{Request: &extproc.ProcessingRequest_RequestBody{RequestBody: &extproc.HttpBody{Body: []byte(c), EndOfStream: eos}}}) {
				return
			}
		}
		if len(sc.Trailers) > 0 {
			send("request_trailers", &extproc.ProcessingRequest{
				Request: &extproc.ProcessingRequest_RequestTrailers{RequestTrailers: &extproc.HttpTrailers{Trailers: headerMap(sc.Trailers, sc.HeaderEncoding)}},
			})
		}
	}()
	defer func() { st.res.Sent = <-sent }()

	var streamed *Streamed
	forwarded := []byte{}
	routed := false
	bodyDone := !hasBody
	trailersDone := len(sc.Trailers) == 0
	for {
		if routed && bodyDone && trailersDone {
			st.res.Outcome = "forwarded"
			st.res.ForwardedBody = string(forwarded)
			return
		}
		r, err := st.recv()
		if err != nil {
			st.res.Outcome, st.res.Error = "error", err.Error()
			return
		}
		switch {
		case r.GetImmediateResponse() != nil:
			st.res.Outcome = "immediate"
			return
		case r.GetStreamedImmediateResponse() != nil:
			sir := r.GetStreamedImmediateResponse()
			if streamed == nil {
				streamed = &Streamed{Headers: [][2]string{}, Chunks: []string{}}
				st.res.Streamed = streamed
				st.res.Outcome = "streamed"
				if routed {
					streamed.Problem = "a local reply after the headers were sent upstream"
				}
				h := sir.GetHeadersResponse()
				if h == nil {
					streamed.Problem = "the streamed reply did not start with headers_response"
					return
				}
				for _, hv := range h.GetHeaders().GetHeaders() {
					v := string(hv.GetRawValue())
					if hv.GetKey() == ":status" {
						fmt.Sscan(v, &streamed.Status)
						continue
					}
					streamed.Headers = append(streamed.Headers, [2]string{hv.GetKey(), v})
				}
				if h.GetEndOfStream() {
					streamed.Ended = true
					return
				}
				continue
			}
			if streamed.Ended {
				streamed.Problem = "a piece after the end of the streamed reply"
				return
			}
			switch {
			case sir.GetBodyResponse() != nil:
				b := sir.GetBodyResponse()
				if len(b.GetBody()) > maxStreamedPiece {
					streamed.Oversized = true
				}
				if len(b.GetBody()) > 0 {
					streamed.Chunks = append(streamed.Chunks, string(b.GetBody()))
				}
				if b.GetEndOfStream() {
					streamed.Ended = true
					return
				}
			case sir.GetTrailersResponse() != nil:
				for _, hv := range sir.GetTrailersResponse().GetHeaders() {
					streamed.Trailers = append(streamed.Trailers, [2]string{hv.GetKey(), string(hv.GetRawValue())})
				}
				streamed.Ended = true
				return
			default:
				streamed.Problem = "a second headers_response"
				return
			}
		case r.GetRequestHeaders() != nil && !routed && streamed == nil:
			routed = true
		case r.GetRequestBody() != nil && routed:
			sr := r.GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse()
			if sr == nil {
				st.res.Outcome, st.res.Error = "error", "a body reply without streamed_response in FULL_DUPLEX_STREAMED mode"
				return
			}
			forwarded = append(forwarded, sr.GetBody()...)
			if sr.GetEndOfStream() {
				bodyDone = true
			}
		case r.GetRequestTrailers() != nil && routed:
			trailersDone = true
			bodyDone = true
		default:
			st.res.Outcome, st.res.Error = "error", "spurious reply in FULL_DUPLEX_STREAMED mode"
			return
		}
	}
}

// runRawNoWait sends every raw message at once, then reads replies until the stream ends.
func runRawNoWait(st *stream, sc Scenario) {
	for _, raw := range sc.Raw {
		req := &extproc.ProcessingRequest{}
		if err := protojson.Unmarshal(raw, req); err != nil {
			st.res.Outcome, st.res.Error = "error", "bad raw message: "+err.Error()
			return
		}
		if err := st.send(kindOf(req), req); err != nil {
			break
		}
	}
	st.res.Outcome = "raw"
}
