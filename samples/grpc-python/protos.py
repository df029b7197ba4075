"""Loads Ferry's sample protos from idl/ at run time (grpcio-tools), without generated files."""
import os
import sys

import grpc

IDL = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "idl"))
if IDL not in sys.path:
    sys.path.insert(0, IDL)

payments_pb2, payments_grpc = grpc.protos_and_services("payments/v1/payments.proto")
kitchen_pb2, kitchen_grpc = grpc.protos_and_services("payments/v1/kitchen_sink.proto")
peer_pb2, peer_grpc = grpc.protos_and_services("ferry/peer/v1/peer.proto")
orders_pb2, orders_grpc = grpc.protos_and_services("bench/v1/orders.proto")  # the gRPC bench's messages (JSON oracle)
status_pb2 = grpc.protos("google/rpc/status.proto")
details_pb2 = grpc.protos("google/rpc/error_details.proto")
