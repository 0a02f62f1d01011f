"""pydicom reads a TDR the service wrote and checks it against what the service answered.

    check_tdr.py TDR_FILE EXPECTED_JSON
EXPECTED_JSON: {"alarm": bool, "dx_uid": str, "boxes": [[x1, y1, x2, y2], ...], "names": [...]}
"""

import json
import sys

import pydicom

path, expected = sys.argv[1], json.loads(sys.argv[2])
tdr = pydicom.dcmread(path)

assert tdr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.501.3", tdr.SOPClassUID
assert tdr[0x4010, 0x1027].value == "MACHINE", tdr[0x4010, 0x1027].value
assert tdr[0x4010, 0x1031].value == ("ALARM" if expected["alarm"] else "CLEAR")
algorithm = list(tdr[0x4010, 0x1029].value)
assert algorithm[0] == "xray-screen" and len(algorithm) == 3, algorithm
assert int(tdr[0x4010, 0x1033].value) == len(expected["boxes"])
# Every UID that ties the TDR to its DX names the DX that was sent.
assert expected["dx_uid"] in str(tdr), "the TDR does not refer to the DX"
threats = tdr[0x4010, 0x1011].value
assert len(threats) == len(expected["boxes"]), len(threats)
for item, box, name in zip(threats, expected["boxes"], expected["names"]):
    x1, y1, x2, y2 = box
    # The box is the potential threat object's representation (4010,1037): a bounding
    # polygon in the DX's pixels.
    (representation,) = item[0x4010, 0x1037].value
    polygon = [float(v) for v in representation[0x4010, 0x101D].value]
    corners = [x1, y1, x2, y1, x2, y2, x1, y2]
    assert all(abs(a - b) < 0.01 for a, b in zip(polygon, corners)), (polygon, corners)
    (assessment,) = item[0x4010, 0x1038].value
    assert assessment[0x4010, 0x1013].value == name, (assessment, name)
    assert assessment[0x4010, 0x1012].value in ("PROHIBITED_ITEM", "CONTRABAND", "OTHER")
print(f"pydicom: TDR with {len(threats)} potential threat objects checked")
