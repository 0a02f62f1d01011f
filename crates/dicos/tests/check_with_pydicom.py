"""Checks a TDR and the DX it refers to with pydicom, independently of the Rust reader.

Usage: check_with_pydicom.py TDR DX EXPECTED_JSON
"""

import json
import sys

import numpy as np
import pydicom


def main() -> None:
    tdr_path, dx_path, expected_path = sys.argv[1:4]
    expected = json.load(open(expected_path))
    tdr = pydicom.dcmread(tdr_path)
    dx = pydicom.dcmread(dx_path)

    # The TDR's own identity and its attributes, by tag number and VR.
    assert tdr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.501.3", tdr.SOPClassUID
    assert tdr.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert tdr[0x4010, 0x1027].VR == "CS" and tdr[0x4010, 0x1027].value == "MACHINE"
    assert tdr[0x4010, 0x1031].value == "ALARM"
    assert tdr[0x4010, 0x102B].VR == "DT"
    assert list(tdr[0x4010, 0x1029].value) == ["Acme", "xray-screen", "0.1.0"]
    threats = expected["threats"]
    assert tdr[0x4010, 0x1033].value == len(threats)
    assert tdr[0x4010, 0x1034].value == sum(t["alarm"] for t in threats)
    assert tdr[0x4010, 0x1069].VR == "FL"

    # The UIDs that tie the TDR to its DX.
    assert tdr.StudyInstanceUID == dx.StudyInstanceUID
    series = tdr.ReferencedSeriesSequence[0]
    assert series.SeriesInstanceUID == dx.SeriesInstanceUID
    ref = series.ReferencedInstanceSequence[0]
    assert ref.ReferencedSOPClassUID == dx.SOPClassUID
    assert ref.ReferencedSOPInstanceUID == dx.SOPInstanceUID

    items = tdr[0x4010, 0x1011].value
    assert len(items) == len(threats)
    for item, want in zip(items, threats):
        assert item[0x4010, 0x1010].value == want["id"]
        assessment = item[0x4010, 0x1038].value[0]
        assert assessment[0x4010, 0x1012].value == want["category"]
        assert assessment[0x4010, 0x1013].value == want["description"]
        flag = "THREAT" if want["alarm"] else "NO_THREAT"
        assert assessment[0x4010, 0x1015].value == flag
        assert abs(assessment[0x4010, 0x1016].value - want["probability"]) < 1e-6
        representation = item[0x4010, 0x1037].value[0]
        pto_ref = representation.ReferencedInstanceSequence[0]
        assert pto_ref.ReferencedSOPInstanceUID == dx.SOPInstanceUID
        polygon = representation[0x4010, 0x101D]
        assert polygon.VR == "FL"
        x1, y1, x2, y2 = want["box"]
        corners = [x1, y1, x2, y1, x2, y2, x1, y2]
        assert [float(v) for v in polygon.value] == corners, (polygon.value, corners)

    # The DX's pixels, as pydicom decodes them.
    assert dx.Modality == "DX"
    assert dx.Rows == expected["height"] and dx.Columns == expected["width"]
    pixels = dx.pixel_array
    frames = np.array(expected["frames"], dtype=np.uint16).reshape(
        len(expected["frames"]), expected["height"], expected["width"]
    )
    if len(expected["frames"]) == 1:
        frames = frames[0]
    assert pixels.dtype == np.uint16, pixels.dtype
    assert np.array_equal(pixels, frames), "pixel data differs"
    print("pydicom: TDR and DX check out")


if __name__ == "__main__":
    main()
