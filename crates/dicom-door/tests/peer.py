"""The DICOM door's independent peer in the tests: pynetdicom as a scanner (C-ECHO and
C-STORE as an SCU) and as a TDR destination (a storage SCP). Each mode prints one JSON line
that the Rust test reads.

  peer.py echo HOST PORT CALLING_AE
  peer.py store HOST PORT CALLING_AE FILE [truncate]
  peer.py limit HOST PORT CALLING_AE      (one association held while a second is tried)
  peer.py scp PORT AE_TITLE OUT_DIR        (prints {"ready": true}, runs until killed)
"""

import json
import logging
import os
import sys
import time

from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.service_class import StorageServiceClass
from pynetdicom.sop_class import register_uid

VERIFICATION = "1.2.840.10008.1.1"
TDR_STORAGE = "1.2.840.10008.5.1.4.1.1.501.3"
CALLED_AE = "XRAY-SCREEN"
SYNTAXES = [ImplicitVRLittleEndian, ExplicitVRLittleEndian]


def say(**answer):
    print(json.dumps(answer), flush=True)


def associate(host, port, calling, contexts):
    """An association and what the acceptor answered (result, source, diagnostic)."""
    ae = AE(ae_title=calling)
    for context in contexts:
        ae.add_requested_context(context, SYNTAXES)
    answer = {}

    def on_acse(event):
        primitive = event.primitive
        if primitive.__class__.__name__ == "A_ASSOCIATE" and primitive.result is not None:
            answer.update(
                result=int(primitive.result),
                source=int(primitive.result_source or 0),
                diagnostic=int(primitive.diagnostic or 0),
            )

    assoc = ae.associate(host, port, ae_title=CALLED_AE, evt_handlers=[(evt.EVT_ACSE_RECV, on_acse)])
    answer["established"] = bool(assoc.is_established)
    if not assoc.is_established:
        answer["rejected"], answer["aborted"] = bool(assoc.is_rejected), bool(assoc.is_aborted)
    return assoc, answer


def echo(host, port, calling):
    assoc, answer = associate(host, port, calling, [VERIFICATION])
    if assoc.is_established:
        status = assoc.send_c_echo()
        answer["status"] = int(status.Status) if status else None
        assoc.release()
    return answer


def store(host, port, calling, path, truncate):
    ds = dcmread(path)
    if truncate:
        # Well-formed elements, but half the pixels the header promises.
        ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]
    assoc, answer = associate(host, port, calling, [ds.SOPClassUID])
    if assoc.is_established:
        status = assoc.send_c_store(ds)
        answer["status"] = int(status.Status) if status else None
        answer["comment"] = str(status.get("ErrorComment", "")) if status else None
        assoc.release()
    return answer


def limit(host, port, calling):
    first, first_answer = associate(host, port, calling, [VERIFICATION])
    # pynetdicom sometimes reports a fast A-ASSOCIATE-RJ as an abort (its reading thread sees
    # the connection end before the association reads the rejection); another try, still
    # over the limit, shows what the door answers. The tries are reported.
    for tries in range(1, 6):
        second, second_answer = associate(host, port, calling, [VERIFICATION])
        if not second_answer.get("aborted"):
            break
    second_answer["tries"] = tries
    if second.is_established:
        second.release()
    if first.is_established:
        first.release()
    time.sleep(0.5)
    return {"first": first_answer, "second": second_answer, "after": echo(host, port, calling)}


def scp(port, ae_title, out_dir):
    def on_store(event):
        ds = event.dataset
        ds.file_meta = event.file_meta
        final = os.path.join(out_dir, ds.SOPInstanceUID + ".dcm")
        ds.save_as(final + ".part", enforce_file_format=True)
        os.replace(final + ".part", final)
        return 0x0000

    # pynetdicom knows no DICOS SOP class; the TDR's is a storage class like any other.
    register_uid(TDR_STORAGE, "XrayDicosThreatDetectionReportStorage", StorageServiceClass)
    ae = AE(ae_title=ae_title)
    ae.add_supported_context(TDR_STORAGE, SYNTAXES)
    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    say(ready=True)
    try:
        while True:
            time.sleep(0.2)
    finally:
        server.shutdown()


def main(argv):
    # pynetdicom's own account of what went wrong, on stderr (the test shows it on failure).
    logging.basicConfig(level=os.environ.get("PEER_LOG", "WARNING"), stream=sys.stderr)
    mode = argv[1]
    if mode == "scp":
        scp(int(argv[2]), argv[3], argv[4])
        return
    host, port, calling = argv[2], int(argv[3]), argv[4]
    if mode == "echo":
        say(**echo(host, port, calling))
    elif mode == "store":
        say(**store(host, port, calling, argv[5], len(argv) > 6 and argv[6] == "truncate"))
    elif mode == "limit":
        say(**limit(host, port, calling))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv)
