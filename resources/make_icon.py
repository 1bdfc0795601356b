"""Draws the application icon: resources/app.png (256 px) and resources/app.ico (16-256 px).

Two overlapping rounded squares, the master behind and a slave in front, with an arrow copying
from one to the other. Each .ico size is drawn at that size rather than scaled down, so small
sizes stay sharp. Run with the project's venv: ``.venv/bin/python resources/make_icon.py``.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt  # noqa: E402
from PySide6.QtGui import (  # noqa: E402
    QColor,
    QGuiApplication,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
)

HERE = Path(__file__).resolve().parent
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)

MASTER_TOP, MASTER_BOTTOM = QColor("#2C6BC9"), QColor("#1B4A94")
SLAVE_TOP, SLAVE_BOTTOM = QColor("#1FC1B3"), QColor("#0E8F8C")
ARROW = QColor("#FFFFFF")


def _rounded_square(x: float, y: float, side: float, radius: float) -> QPainterPath:
    path = QPainterPath()
    path.addRoundedRect(QRectF(x, y, side, side), radius, radius)
    return path


def _fill(painter: QPainter, path: QPainterPath, top: QColor, bottom: QColor) -> None:
    rect = path.boundingRect()
    gradient = QLinearGradient(rect.topLeft(), rect.bottomLeft())
    gradient.setColorAt(0.0, top)
    gradient.setColorAt(1.0, bottom)
    painter.fillPath(path, gradient)


def draw(size: int) -> QImage:
    """The icon at ``size`` x ``size`` pixels, drawn on a 256-unit canvas."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / 256, size / 256)

    side, radius = 150.0, 34.0
    master = _rounded_square(14, 14, side, radius)
    slave = _rounded_square(92, 92, side, radius)

    _fill(painter, master, MASTER_TOP, MASTER_BOTTOM)
    # A transparent gap around the slave square keeps the two shapes apart where they overlap.
    gap = _rounded_square(92 - 9, 92 - 9, side + 18, radius + 9)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
    painter.fillPath(gap, Qt.GlobalColor.transparent)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
    _fill(painter, slave, SLAVE_TOP, SLAVE_BOTTOM)

    # The copy arrow: from the master's body to the slave's centre, drawn over both.
    start, tip = QPointF(62, 62), QPointF(186, 186)
    head = 46.0
    shaft_end = QPointF(tip.x() - head * 0.55, tip.y() - head * 0.55)
    pen = QPen(ARROW, 22, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    painter.drawLine(start, shaft_end)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(ARROW)
    painter.drawPolygon(
        QPolygonF(
            [
                tip,
                QPointF(tip.x() - head * 1.15, tip.y() - head * 0.2),
                QPointF(tip.x() - head * 0.2, tip.y() - head * 1.15),
            ]
        )
    )
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError("Qt could not encode a PNG")
    buffer.close()
    return bytes(data)


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A multi-size .ico with PNG-compressed entries (read by Windows Vista and later).

    Qt's own .ico writer stores only one size, hence this small container writer.
    """
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, payload = b"", b""
    for size, data in sorted(pngs.items()):
        dim = 0 if size >= 256 else size  # 0 means 256 in the directory entry
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset + len(payload))
        payload += data
    return header + entries + payload


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (keeps Qt up)
    pngs = {size: png_bytes(draw(size)) for size in ICO_SIZES}
    (HERE / "app.png").write_bytes(pngs[256])
    (HERE / "app.ico").write_bytes(ico_bytes(pngs))
    print(f"wrote {HERE / 'app.png'} and {HERE / 'app.ico'} ({', '.join(map(str, ICO_SIZES))} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
