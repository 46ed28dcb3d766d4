"""Icon, logo and style sheet: the few things that make the window look like a product."""

from __future__ import annotations

import functools

from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication, QIcon, QPixmap

from app.paths import resources_dir

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def icon_path(name: str = "accert.svg") -> str:
    return str(resources_dir() / "icons" / name)


@functools.cache
def app_icon() -> QIcon:
    """The PNG sizes drawn for each size (crisp at 16 px), the SVG for anything larger."""
    icon = QIcon()
    folder = resources_dir() / "icons"
    for size in ICON_SIZES:
        png = folder / f"accert-{size}.png"
        if png.exists():
            icon.addFile(str(png), QSize(size, size))
    if icon.isNull():
        icon.addFile(icon_path())
    return icon


def render_svg(size: int, device_pixel_ratio: float = 1.0) -> QPixmap:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(icon_path())
    px = round(size * device_pixel_ratio)
    pixmap = QPixmap(px, px)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    pixmap.setDevicePixelRatio(device_pixel_ratio)
    return pixmap


def logo_pixmap(size: int) -> QPixmap:
    """The logo, `size` pixels at 96 DPI grown with the font, for this screen's pixel ratio.

    Qt's icon engine takes the nearest drawn PNG and scales it smoothly in C++: neither QtSvg
    (about 6 ms) nor Python's side of Qt's enums is loaded before the window's first paint.
    """
    screen = QGuiApplication.primaryScreen()
    ratio = screen.devicePixelRatio() if screen else 1.0
    side = scaled(size)
    return app_icon().pixmap(QSize(side, side), ratio)


def scaled(pixels: int) -> int:
    """Sizes in 'pixels at 96 DPI' grown with the font, so 200 % text still fits."""
    from PySide6.QtGui import QFontMetrics
    from PySide6.QtWidgets import QApplication

    font = QApplication.font()
    height = QFontMetrics(font).height()
    return round(pixels * max(1.0, height / 16))


# Text and backgrounds come from the palette (palette(...)), so a dark Windows scheme keeps
# them readable: fixed light backgrounds under the dark scheme's white text hid the CSR and the
# drop zone's text. The banners set both their colours, so they read the same in either.
STYLE = """
QLabel[banner="true"] {
    border: 1px solid transparent; border-radius: 4px; padding: 6px 8px;
}
QLabel[banner="true"][kind="error"] {
    color: #a4161a; background: #fdecea; border-color: #f5c2c0;
}
QLabel[banner="true"][kind="warning"] {
    color: #7a4b00; background: #fff4e0; border-color: #f3d19c;
}
QLabel[banner="true"][kind="ok"] {
    color: #1b5e20; background: #e9f6ec; border-color: #b7dfc0;
}
QLabel[banner="true"][kind="info"] {
    color: #1d3b63; background: #eef4fb; border-color: #c7d9ef;
}
QLabel#note { color: palette(placeholder-text); }
QLabel#heading { font-weight: bold; }
QFrame#dropzone {
    border: 2px dashed #8aa6cf; border-radius: 8px; background: palette(base); min-height: 3em;
}
QFrame#dropzone[hover="true"] { border-color: #1f6fd1; background: palette(alternate-base); }
QProgressBar[score="1"]::chunk { background: #d9480f; }
QProgressBar[score="2"]::chunk { background: #f08c00; }
QProgressBar[score="3"]::chunk { background: #74b816; }
QProgressBar[score="4"]::chunk { background: #2b8a3e; }
"""
