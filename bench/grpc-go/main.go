// The gRPC side of Ferry's gRPC bench, in Go so that it is not the bottleneck:
//
//	grpc-go server  -port N            serves ferry.bench.v1.Orders (idl/bench/v1/orders.proto)
//	grpc-go gateway -port N -upstream host:port
//	                                   grpc-gateway v2 in front of it, generated from the same proto
//	grpc-go json                       prints GetOrder's reply as protojson (for equivalence checks)
//	grpc-go load -upstream host:port -c N -d SECONDS [-method get|post]
//	                                   the direct call: N closed-loop callers on one connection,
//	                                   prints {"rps":…, "requests":…, "p50Us":…, "p99Us":…}
//
// Each mode prints one JSON line {"listening": port} once it accepts connections.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "ferry.local/bench-grpc/benchpb"
)

// order is the reply of GetOrder: 10 nested items, a map, a Timestamp and bytes.
func order(name string) *pb.Order {
	items := make([]*pb.Item, 10)
	for i := range items {
		items[i] = &pb.Item{
			Sku:       fmt.Sprintf("SKU-%05d", 1000+i),
			Title:     fmt.Sprintf("Item number %d, a reasonably long title", i),
			Quantity:  int64(i + 1),
			UnitPrice: 9.99 + float64(i),
			Tags:      []string{"fresh", "tag-" + fmt.Sprint(i)},
			InStock:   i%2 == 0,
		}
	}
	return &pb.Order{
		Name:       name,
		Customer:   "customers/c-42",
		Items:      items,
		Labels:     map[string]string{"channel": "web", "region": "eu-west", "tier": "gold"},
		CreateTime: timestamppb.New(time.Date(2026, 12, 1, 10, 30, 0, 123000000, time.UTC)),
		Signature:  []byte("signature-bytes-0123456789"),
		Revision:   7,
	}
}

type orders struct {
	pb.UnimplementedOrdersServer
}

func (orders) GetOrder(_ context.Context, req *pb.GetOrderRequest) (*pb.Order, error) {
	o := order(req.GetName())
	if strings.HasSuffix(req.GetName(), "/huge") {
		// For Ferry's reply-size budget test: 17 MiB of bytes.
		o.Signature = make([]byte, 17<<20)
	}
	return o, nil
}

func (orders) CreateOrder(_ context.Context, req *pb.CreateOrderRequest) (*pb.Order, error) {
	o := req.GetOrder()
	if o == nil {
		o = &pb.Order{}
	}
	o.Name = req.GetParent() + "/orders/new"
	return o, nil
}

func listen(port int) net.Listener {
	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("{\"listening\": %d}\n", lis.Addr().(*net.TCPAddr).Port)
	return lis
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: grpc-go server|gateway|json [-port N] [-upstream host:port]")
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	port := fs.Int("port", 0, "port to listen on (0: any free port)")
	upstream := fs.String("upstream", "127.0.0.1:50071", "gRPC server the gateway calls")
	conc := fs.Int("c", 1, "load: calls in flight")
	seconds := fs.Float64("d", 10, "load: seconds")
	method := fs.String("method", "get", "load: get or post")
	_ = fs.Parse(os.Args[2:])
	switch mode {
	case "server":
		s := grpc.NewServer(grpc.MaxSendMsgSize(64 << 20))
		pb.RegisterOrdersServer(s, orders{})
		_ = s.Serve(listen(*port))
	case "gateway":
		// Same JSON options as Ferry's defaults: lowerCamelCase names, unset fields left out.
		mux := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: false},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
		}))
		opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
		if err := pb.RegisterOrdersHandlerFromEndpoint(context.Background(), mux, *upstream, opts); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		_ = http.Serve(listen(*port), mux)
	case "load":
		load(*upstream, *conc, time.Duration(*seconds*float64(time.Second)), *method)
	case "json":
		name := "shops/s1/orders/o1"
		if fs.NArg() > 0 {
			name = strings.TrimSpace(fs.Arg(0))
		}
		b, err := protojson.Marshal(order(name))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(string(b))
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		os.Exit(2)
	}
}

// load drives GetOrder (or CreateOrder with GetOrder's reply as the body) closed-loop.
func load(upstream string, conc int, d time.Duration, method string) {
	conn, err := grpc.NewClient(upstream, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	client := pb.NewOrdersClient(conn)
	body := order("")
	call := func() error {
		if method == "post" {
			_, err := client.CreateOrder(context.Background(), &pb.CreateOrderRequest{Parent: "shops/s1", Order: body})
			return err
		}
		_, err := client.GetOrder(context.Background(), &pb.GetOrderRequest{Name: "shops/s1/orders/o1"})
		return err
	}
	if err := call(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1<<14)
			for time.Now().Before(end) {
				t0 := time.Now()
				if err := call(); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	q := func(p float64) float64 { return float64(all[min(len(all)-1, int(p*float64(len(all))))].Nanoseconds()) / 1000 }
	fmt.Printf("{\"rps\": %.1f, \"requests\": %d, \"p50Us\": %.1f, \"p99Us\": %.1f}\n", float64(len(all))/elapsed, len(all), q(0.5), q(0.99))
}
