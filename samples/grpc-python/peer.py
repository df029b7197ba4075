"""ferry.peer.v1.Peer (idl/ferry/peer/v1/peer.proto): a server that says who it is, counts what it
receives and misbehaves on demand, for Ferry's balancing, failover and discovery tests.

Each call is counted under (method, tag) and announced on stdout as `CALL <Method> <tag>` before it
is handled, so the count survives a server that dies mid-call (the test reads the lines).
"""
import os
import sys
import threading
import time
from collections import Counter

import grpc

from protos import peer_pb2, peer_grpc

MAX_SLEEP_MS = 60_000


def status_code(number):
    for c in grpc.StatusCode:
        if c.value[0] == number and c is not grpc.StatusCode.OK:
            return c
    return grpc.StatusCode.UNKNOWN


class Peer(peer_grpc.PeerServicer):
    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.calls = Counter()  # (method, tag) -> count
        self.delay_ms = 0
        self.fail_code = 0

    def _arrived(self, method, tag, context):
        with self.lock:
            self.calls[(method, tag)] += 1
            n = self.calls[(method, tag)]
            # Under the lock, so lines and counts are in the same order.
            print(f"CALL {method} {tag or '-'}", flush=True)
        context.send_initial_metadata((("served-by", self.name),))
        return n

    def _reply(self, tag, n):
        return peer_pb2.WhoamiReply(server=self.name, tag=tag, calls=n)

    def Whoami(self, request, context):
        n = self._arrived("Whoami", request.tag, context)
        with self.lock:
            delay_ms, fail_code = self.delay_ms, self.fail_code
        if delay_ms > 0:
            time.sleep(min(delay_ms, MAX_SLEEP_MS) / 1000.0)
        if fail_code != 0:
            context.abort(status_code(fail_code), f"{self.name} is configured to fail")
        return self._reply(request.tag, n)

    def Slow(self, request, context):
        n = self._arrived("Slow", request.tag, context)
        time.sleep(max(0, min(request.millis, MAX_SLEEP_MS)) / 1000.0)
        return self._reply(request.tag, n)

    def Fail(self, request, context):
        self._arrived("Fail", request.tag, context)
        context.abort(status_code(request.code), request.message or f"{self.name} failed on purpose")

    def Crash(self, request, context):
        with self.lock:
            self.calls[("Crash", request.tag)] += 1
            print(f"CALL Crash {request.tag or '-'}", flush=True)
            sys.stdout.flush()
            # No reply, no metadata, no graceful close: the process is gone.
            os._exit(3)

    def Stats(self, request, context):
        context.send_initial_metadata((("served-by", self.name),))
        reply = peer_pb2.StatsReply(server=self.name)
        with self.lock:
            for (method, tag), count in self.calls.items():
                if request.tag == "" or tag == request.tag:
                    reply.calls[method] = reply.calls[method] + count
                    reply.total += count
        return reply

    def Configure(self, request, context):
        context.send_initial_metadata((("served-by", self.name),))
        with self.lock:
            self.delay_ms = max(0, request.delay_millis)
            self.fail_code = request.fail_code
        return peer_pb2.WhoamiReply(server=self.name)


def add_peer_to_server(name, server):
    peer_grpc.add_PeerServicer_to_server(Peer(name), server)
