package com.example.sample;

import com.example.sample.greeter.DubboGreeterTriple;
import com.example.sample.greeter.HelloReply;
import com.example.sample.greeter.HelloRequest;
import com.google.protobuf.Timestamp;
import org.apache.dubbo.common.stream.StreamObserver;

/** The protobuf Greeter served over Triple (gRPC path /ferry.sample.v1.Greeter/SayHello). */
public final class GreeterImpl extends DubboGreeterTriple.GreeterImplBase {
  /** 2024-02-29T12:00:00.5Z */
  static final Timestamp FIXED_AT =
      Timestamp.newBuilder().setSeconds(1709208000L).setNanos(500_000_000).build();

  static final int STREAM_CAP = 100;

  private final boolean verbose;

  public GreeterImpl(boolean verbose) {
    this.verbose = verbose;
  }

  private void log(String method) {
    if (verbose) {
      System.err.println("ferry-sample-provider: call Greeter." + method);
    }
  }

  @Override
  public HelloReply sayHello(HelloRequest request) {
    log("SayHello");
    return HelloReply.newBuilder()
        .setMessage("Hello, " + request.getName())
        .setCount(request.getCount())
        .setAt(FIXED_AT)
        .build();
  }

  @Override
  public void sayHelloStream(HelloRequest request, StreamObserver<HelloReply> out) {
    log("SayHelloStream");
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
