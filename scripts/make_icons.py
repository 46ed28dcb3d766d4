"""Render resources/icons/accert.svg to the PNG sizes and a multi-size Windows .ico.

Run after changing the SVG: .venv/bin/python scripts/make_icons.py
The .ico holds PNG-compressed images (Windows Vista and later read them), one per size.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from ui.look import ICON_SIZES, render_svg  # noqa: E402

ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def png_bytes(size: int) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    render_svg(size).toImage().save(buffer, "PNG")
    return bytes(data.data())


def ico_bytes(images: list[tuple[int, bytes]]) -> bytes:
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, blobs = b"", b""
    for size, png in images:
        dim = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    return header + entries + blobs


def main() -> None:
    app = QApplication.instance() or QApplication([])
    folder = ROOT / "resources" / "icons"
    for size in ICON_SIZES:
        (folder / f"accert-{size}.png").write_bytes(png_bytes(size))
    (folder / "accert.ico").write_bytes(ico_bytes([(s, png_bytes(s)) for s in ICO_SIZES]))
    print(f"wrote {len(ICON_SIZES)} PNGs and accert.ico to {folder}")
    del app


if __name__ == "__main__":
    main()
