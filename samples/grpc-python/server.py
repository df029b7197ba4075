"""A gRPC server in Python (grpcio) serving Ferry's sample payments, kitchen-sink and peer services.

Ferry's end-to-end tests start it with --port (and --name, which ferry.peer.v1.Peer answers with)
and wait for the READY line. Handlers echo what they received (as proto3 JSON from json_format) so
tests can check the exact request Ferry built. Several can run at once, each on its own port: the
port is bound without SO_REUSEPORT, so a port already taken fails the start instead of being shared.
"""
import argparse
import base64
import os
import signal
import sys
import threading
import time
from concurrent import futures

import grpc
from google.protobuf import json_format
from google.protobuf import empty_pb2

from peer import add_peer_to_server
from protos import payments_pb2 as pb, payments_grpc, kitchen_pb2, kitchen_grpc, status_pb2, details_pb2


def as_json(msg):
    return json_format.MessageToJson(msg, indent=None, sort_keys=True)


def sample_payment(name):
    p = pb.Payment(name=name, state=pb.SETTLED, memo="sample", sequence=18446744073709551615)
    p.amount.currency_code = "EUR"
    p.amount.units = 9007199254740993
    p.amount.nanos = 500000000
    p.create_time.FromJsonString("2024-05-06T07:08:09.123Z")
    p.labels["kind"] = "sample"
    p.reference.value = "ref-1"
    return p


def abort_with_details(context, code, message, with_details):
    if with_details:
        st = status_pb2.Status(code=code.value[0], message=message)
        info = details_pb2.ErrorInfo(reason="INSUFFICIENT_FUNDS", domain="payments.example.com")
        info.metadata["account"] = "42"
        st.details.add().Pack(info)
        bad = details_pb2.BadRequest()
        v = bad.field_violations.add()
        v.field = "amount.units"
        v.description = "must be positive"
        st.details.add().Pack(bad)
        retry = details_pb2.RetryInfo()
        retry.retry_delay.FromJsonString("1.500s")
        st.details.add().Pack(retry)
        context.set_trailing_metadata((("grpc-status-details-bin", st.SerializeToString()), ("x-trailer", "bad")))
    context.abort(code, message)


class Payments(payments_grpc.PaymentsServicer):
    def GetPayment(self, request, context):
        if request.name.endswith("/missing"):
            context.abort(grpc.StatusCode.NOT_FOUND, f"payment {request.name} not found")
        context.send_initial_metadata((("x-served-by", "python"),))
        context.set_trailing_metadata((("x-trailer", "done"),))
        return sample_payment(request.name)

    def ListPayments(self, request, context):
        resp = pb.ListPaymentsResponse(next_page_token=as_json(request), total=-9223372036854775808)
        for i in range(max(0, min(request.page_size, 5))):
            resp.payments.append(sample_payment(f"{request.parent}/payments/{i}"))
        return resp

    def CreatePayment(self, request, context):
        p = pb.Payment()
        p.CopyFrom(request.payment)
        p.name = f"{request.parent}/payments/{request.request_id or 'new'}"
        p.state = pb.PENDING
        p.labels["request"] = as_json(request)
        return p

    def UpdatePayment(self, request, context):
        p = pb.Payment()
        p.CopyFrom(request.payment)
        p.labels["update_mask"] = ",".join(request.update_mask.paths)
        p.labels["request"] = as_json(request)
        return p

    def SearchPayments(self, request, context):
        resp = pb.SearchPaymentsResponse()
        for parent in request.parents:
            p = sample_payment(f"{parent}/payments/found")
            p.memo = as_json(request)
            resp.payments.append(p)
        return resp

    def CapturePayment(self, request, context):
        p = pb.Payment(name=request.name, state=pb.SETTLED)
        p.amount.CopyFrom(request.amount)
        p.labels["request"] = as_json(request)
        return p

    def GetPaymentState(self, request, context):
        p = sample_payment(request.name)
        p.state = pb.FAILED
        return p

    def DeletePayment(self, request, context):
        if request.name.endswith("/locked") and not request.force:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "payment is locked; pass force=true")
        return empty_pb2.Empty()

    def HeadPayment(self, request, context):
        return empty_pb2.Empty()

    def WatchPayments(self, request, context):
        for i in range(request.count):
            yield pb.PaymentEvent(seq=9007199254740993 + i, payment=sample_payment(f"{request.parent}/payments/{i}"))
        if request.fail_with:
            abort_with_details(context, code_of(request.fail_with), "stream failed on purpose", True)

    def Fail(self, request, context):
        if request.sleep_ms:
            time.sleep(request.sleep_ms / 1000.0)
        abort_with_details(context, code_of(request.code), request.message or "failed on purpose", request.with_details)

    def EchoMetadata(self, request, context):
        md = {}
        for k, v in context.invocation_metadata():
            md[k] = base64.b64encode(v).decode() if isinstance(v, bytes) else v
        md["x-peer"] = context.peer()
        context.send_initial_metadata((("x-echo-note", request.note or "none"), ("x-bin-bin", b"\x00\x01\xff")))
        context.set_trailing_metadata((("x-trailer", "echoed"),))
        return pb.EchoMetadataResponse(metadata=md)

    def Ping(self, request, context):
        return pb.PingReply(text=request.text, server_time_nanos=time.time_ns())


class KitchenSink(kitchen_grpc.KitchenSinkServiceServicer):
    def __init__(self):
        self.wide = {}

    def Echo(self, request, context):
        # Hostile replies for Ferry's nesting tests: text "nest:N" answers `nested` chained N messages
        # deep, "lists:N" answers `val` holding lists nested N deep (built in loops: no recursion here).
        # A large legitimate reply for Ferry's decode-deadline tests: "wide:N" answers N packed `ids`
        # (0 .. N-1), built once per N so that later calls only serialize it.
        kind, _, depth = request.text.partition(":")
        if kind == "wide" and depth.isdigit():
            if depth not in self.wide:
                reply = kitchen_pb2.KitchenSink(text=request.text)
                reply.ids.extend(range(int(depth)))
                self.wide[depth] = reply
            return self.wide[depth]
        if kind in ("nest", "lists") and depth.isdigit():
            reply = kitchen_pb2.KitchenSink(text=request.text)
            if kind == "nest":
                node = reply.nested
                for i in range(int(depth) - 1):
                    node.id = i + 1
                    node = node.child
                node.id = int(depth)
            else:
                value = reply.val
                for _ in range(int(depth)):
                    value = value.list_value.values.add()
                value.string_value = "bottom"
            return reply
        return request


def enable_reflection(server):
    """grpcio-reflection over the default descriptor pool, where grpc.protos_and_services put the protos.
    grpcio-reflection serves grpc.reflection.v1alpha only (grpc-go serves v1 as well)."""
    from grpc_reflection.v1alpha import reflection

    names = [
        "example.payments.v1.Payments",
        "example.kitchen.v1.KitchenSinkService",
        "ferry.peer.v1.Peer",
        reflection.SERVICE_NAME,
    ]
    reflection.enable_server_reflection(names, server)


def code_of(number):
    for c in grpc.StatusCode:
        if c.value[0] == number:
            return c
    return grpc.StatusCode.UNKNOWN


def exit_on_eof():
    while sys.stdin.buffer.read(256):
        pass
    os._exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--name", default="python")
    ap.add_argument("--tls-cert", help="PEM certificate chain: serve TLS instead of plaintext")
    ap.add_argument("--tls-key", help="PEM private key of --tls-cert")
    ap.add_argument("--tls-client-ca", help="PEM CA bundle: require client certificates from it (mTLS)")
    ap.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin closes (the test runner went away)")
    ap.add_argument("--reflection", action="store_true", help="serve gRPC server reflection (grpcio-reflection, v1alpha)")
    args = ap.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=args.workers), options=(("grpc.so_reuseport", 0),))
    payments_grpc.add_PaymentsServicer_to_server(Payments(), server)
    kitchen_grpc.add_KitchenSinkServiceServicer_to_server(KitchenSink(), server)
    add_peer_to_server(args.name, server)
    if args.reflection:
        enable_reflection(server)
    try:
        if args.tls_cert:
            with open(args.tls_cert, "rb") as f:
                chain = f.read()
            with open(args.tls_key, "rb") as f:
                key = f.read()
            client_ca = None
            if args.tls_client_ca:
                with open(args.tls_client_ca, "rb") as f:
                    client_ca = f.read()
            creds = grpc.ssl_server_credentials(((key, chain),), root_certificates=client_ca, require_client_auth=client_ca is not None)
            port = server.add_secure_port(f"127.0.0.1:{args.port}", creds)
        else:
            port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    except RuntimeError:
        port = 0
    if port == 0:
        print(f"cannot bind 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        sys.exit(2)
    server.start()
    print(f"READY {port} {args.name}", flush=True)

    def stop(*_):
        server.stop(0.5).wait()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_on_stdin_eof:
        threading.Thread(target=exit_on_eof, daemon=True).start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
