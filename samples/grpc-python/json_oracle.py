"""Reference proto3 JSON for Ferry's conformance test: Python's google.protobuf.json_format.

Reads one JSON command per line on stdin and answers one JSON line on stdout:
  {"op":"print","type":T,"b64":B,"emitDefaults":bool} -> {"ok":true,"json":TEXT}
  {"op":"parse","type":T,"json":TEXT}                  -> {"ok":true,"b64":B} | {"ok":false,"error":E}
  {"op":"equal","type":T,"a":B,"b":B}                  -> {"ok":true,"equal":bool}
"""
import base64
import json
import sys

from google.protobuf import json_format, message_factory, descriptor_pool

import protos  # noqa: F401  (registers the sample protos in the default pool)


def message_class(name):
    desc = descriptor_pool.Default().FindMessageTypeByName(name)
    return message_factory.GetMessageClass(desc)


def handle(cmd):
    cls = message_class(cmd["type"])
    op = cmd["op"]
    if op == "print":
        m = cls()
        m.ParseFromString(base64.b64decode(cmd["b64"]))
        text = json_format.MessageToJson(
            m, indent=None, always_print_fields_with_no_presence=bool(cmd.get("emitDefaults")))
        return {"ok": True, "json": text}
    if op == "parse":
        m = json_format.Parse(cmd["json"], cls())
        return {"ok": True, "b64": base64.b64encode(m.SerializeToString(deterministic=True)).decode()}
    if op == "equal":
        a, b = cls(), cls()
        a.ParseFromString(base64.b64decode(cmd["a"]))
        b.ParseFromString(base64.b64decode(cmd["b"]))
        return {"ok": True, "equal": a == b}
    raise ValueError(f"unknown op {op}")


def main():
    print(json.dumps({"ok": True, "ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            out = handle(json.loads(line))
        except Exception as e:  # the error text goes back to the test
            out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
