#!/usr/bin/env python3
"""Sends X-ray images to a running xray-screen server over gRPC and prints the results.

The Python stubs are compiled from proto/ on the fly (grpcio-tools), so nothing generated is
kept in the repository.

    export XRAY_TOKEN=xst_...   # a scanner's token (xray-screen principals add ... --role scanner)
    .venv/bin/python tools/example_client.py scan.png [more.png ...] [--addr localhost:50051]
    .venv/bin/python tools/example_client.py scan.raw --raw 1024x768x2   # raw u16 dual-energy
    .venv/bin/python tools/example_client.py bag.png --declaration D-1     # a registered declaration
    .venv/bin/python tools/example_client.py test-images/*.png --declaration D-1 --register
        # registers D-1 first (T-shirts, HS 6109.10, prior risk 0.1), for trying the review screen

The server serves TLS: the client trusts --ca-cert (the development CA that `serve` made,
var/tls/ca.pem, by default); --plaintext talks to a server run with --insecure-plaintext. The
token (--token or XRAY_TOKEN) is sent with every call; its principal needs the scanner role
bound to --portal, and risk-system for --register.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import grpc
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
PROTO = "xray/v1/inspection.proto"
# inspection.proto imports risk.proto; declarations.proto is for --register.
PROTOS = [PROTO, "xray/v1/risk.proto", "xray/v1/declarations.proto"]


def load_stubs(out: Path):
    """Compiles the contract into `out` and imports the generated modules."""
    include = Path(protoc.__file__).parent / "_proto"
    args = ["protoc", f"-I{PROTO_DIR}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *PROTOS]
    if protoc.main(args) != 0:
        sys.exit(f"cannot compile {PROTO_DIR / PROTO}")
    sys.path.insert(0, str(out))
    from xray.v1 import declarations_pb2, declarations_pb2_grpc, inspection_pb2, inspection_pb2_grpc, risk_pb2  # noqa: E402

    return inspection_pb2, inspection_pb2_grpc, risk_pb2, (declarations_pb2, declarations_pb2_grpc)


def register(pb, stub, declaration_id: str, auth) -> None:
    """Registers an example declaration of T-shirts; one already there is kept."""
    declaration = pb.Declaration(
        id=declaration_id, declarant="Example Importer Ltd", origin_country="CN", destination_country="DE",
        transport_mode=pb.SEA, prior_risk=0.1,
        items=[pb.DeclaredItem(hs_code="6109.10", description="cotton T-shirts", quantity=500, value=2500)],
    )
    try:
        view = stub.RegisterDeclaration(pb.RegisterDeclarationRequest(declaration=declaration), timeout=30, metadata=auth)
        print(json.dumps({"registered": declaration_id, "risk": round(view.risk.score, 3)}))
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.ALREADY_EXISTS:
            sys.exit(f"cannot register {declaration_id}: {e.code().name}: {e.details()}")
        print(json.dumps({"registered": declaration_id, "note": "already registered with other content; kept"}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--addr", default="localhost:50051", help="server address (default %(default)s)")
    parser.add_argument("--token", default=os.environ.get("XRAY_TOKEN"), help="bearer token (default: $XRAY_TOKEN)")
    parser.add_argument("--ca-cert", type=Path, default=ROOT / "var/tls/ca.pem",
                        help="CA certificate to trust (default %(default)s)")
    parser.add_argument("--plaintext", action="store_true", help="no TLS (a server run with --insecure-plaintext)")
    parser.add_argument("--portal", default="portal-1", help="the portal each scan names (default %(default)s)")
    parser.add_argument("--model", help="model name (default: the server's default model)")
    parser.add_argument("--raw", help="WIDTHxHEIGHTxCHANNELS for raw little-endian u16 files")
    parser.add_argument("--min-confidence", type=float)
    parser.add_argument("--declaration", help="the registered declaration the scans belong to (prints its new risk)")
    parser.add_argument("--register", action="store_true",
                        help="register --declaration first: T-shirts (HS 6109.10), prior risk 0.1 (kept if it exists)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        pb, pb_grpc, risk_pb, (decl_pb, decl_grpc) = load_stubs(Path(tmp))
        options = [("grpc.max_send_message_length", 256 << 20)]
        if args.plaintext:
            channel = grpc.insecure_channel(args.addr, options=options)
        else:
            try:
                root = args.ca_cert.read_bytes()
            except OSError as e:
                sys.exit(f"cannot read the CA certificate {args.ca_cert}: {e} (--ca-cert, or --plaintext)")
            channel = grpc.secure_channel(args.addr, grpc.ssl_channel_credentials(root_certificates=root), options=options)
        if not args.token:
            sys.exit("no token: pass --token or set XRAY_TOKEN (an administrator makes one with `xray-screen principals add`)")
        auth = [("authorization", f"Bearer {args.token.strip()}")]
        if args.register:
            if not args.declaration:
                sys.exit("--register needs --declaration ID")
            register(decl_pb, decl_grpc.DeclarationsStub(channel), args.declaration, auth)
        client = pb_grpc.InspectionStub(channel)
        failures = 0
        for path in args.files:
            scan = pb.Scan(scan_id=path.name, image=path.read_bytes(), portal_id=args.portal)
            if args.raw:
                width, height, channels = (int(v) for v in args.raw.split("x"))
                scan.encoding = pb.RAW_U16
                scan.width, scan.height, scan.channels = width, height, channels
            if args.model:
                scan.model = args.model
            if args.min_confidence is not None:
                scan.min_confidence = args.min_confidence
            if args.declaration:
                scan.declaration_id = args.declaration
            try:
                result = client.Inspect(scan, timeout=30, metadata=auth)
            except grpc.RpcError as e:
                failures += 1
                print(json.dumps({"file": str(path), "code": e.code().name, "error": e.details()}))
                continue
            print(
                json.dumps(
                    {
                        "scan_id": result.scan_id,
                        "model": f"{result.model}@{result.model_version}",
                        "alarm": result.alarm,
                        "size": [result.image_width, result.image_height],
                        "detections": [
                            {
                                "class": d.class_name,
                                "category": pb.Category.Name(d.category),
                                "confidence": round(d.confidence, 3),
                                "box": [round(v, 1) for v in (d.box.x1, d.box.y1, d.box.x2, d.box.y2)],
                            }
                            for d in result.detections
                        ],
                        "total_ms": result.timings.total_us / 1000,
                        **(
                            {
                                "declaration": result.declaration_id,
                                "risk": round(result.risk.score, 3),
                                "channel": risk_pb.Channel.Name(result.risk.channel),
                                "reasons": list(result.risk.reasons),
                            }
                            if result.declaration_id
                            else {}
                        ),
                    }
                )
            )
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
