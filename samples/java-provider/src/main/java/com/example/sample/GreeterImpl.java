package com.example.sample;

import com.example.sample.greeter.DubboGreeterTriple;
import com.example.sample.greeter.HelloReply;
import com.example.sample.greeter.HelloRequest;
import com.google.protobuf.Timestamp;
import org.apache.dubbo.common.stream.StreamObserver;
import org.apache.dubbo.rpc.RpcContext;

/**
 * The protobuf Greeter served over Triple (gRPC path /ferry.sample.v1.Greeter/SayHello). Every
 * reply carries the response attachment {@code served-by: <--name>}, which a gRPC client reads as
 * response metadata, so balancing and discovery tests can see which provider answered.
 */
public final class GreeterImpl extends DubboGreeterTriple.GreeterImplBase {
  /** Response attachment naming the provider. */
  static final String SERVED_BY = "served-by";

  /** 2024-02-29T12:00:00.5Z */
  static final Timestamp FIXED_AT =
      Timestamp.newBuilder().setSeconds(1709208000L).setNanos(500_000_000).build();

  static final int STREAM_CAP = 100;

  private final String name;
  private final boolean verbose;

  public GreeterImpl(String name, boolean verbose) {
    this.name = name;
    this.verbose = verbose;
  }

  private void arrived(String method) {
    RpcContext.getServerResponseContext().setAttachment(SERVED_BY, name);
    if (verbose) {
      System.err.println("ferry-sample-provider: call Greeter." + method);
    }
  }

  @Override
  public HelloReply sayHello(HelloRequest request) {
    arrived("SayHello");
    return HelloReply.newBuilder()
        .setMessage("Hello, " + request.getName())
        .setCount(request.getCount())
        .setAt(FIXED_AT)
        .build();
  }

  @Override
  public void sayHelloStream(HelloRequest request, StreamObserver<HelloReply> out) {
    arrived("SayHelloStream");
    long n = Math.max(0, Math.min(STREAM_CAP, request.getCount()));
    for (long i = 1; i <= n; i++) {
      out.onNext(HelloReply.newBuilder()
          .setMessage("Hello " + i + ", " + request.getName())
          .setCount(i)
          .setAt(FIXED_AT)
          .build());
    }
    out.onCompleted();
  }
}
