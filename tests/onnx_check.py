# onnx_check.py — Debian's python3-onnx checker, full check (types and
# shapes inferred strictly), over each ONNX file given; for
# tests/test_onnx.c. Run with Debian's /usr/bin/python3.
#
#   /usr/bin/python3 onnx_check.py FILE...
#
# Exit status 0 when every file passes, 1 naming each that fails, 2 when
# the onnx module is missing.
import sys

try:
    import onnx
except ImportError as e:
    print(f"onnx_check.py: cannot import onnx ({e}): apt-get install python3-onnx")
    sys.exit(2)

status = 0
for path in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
    except Exception as e:  # the checker raises several kinds
        print(f"onnx_check.py: {path}: {e}")
        status = 1
sys.exit(status)
