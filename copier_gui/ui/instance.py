"""The window's side of one copier per user folder: the running window listens on a local socket
named after its folder, and a second start asks it to come forward instead of opening another.

The folder's lock (copier_gui.instance) decides who runs; this only carries the request to show.
"""

from __future__ import annotations

import getpass
import hashlib

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from copier_gui.paths import UserPaths

_REQUEST = b"raise\n"
_ANSWER = b"ok\n"


def server_name(paths: UserPaths) -> str:
    """The same for every start on one folder by one user; short, because a socket path is."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container); the folder alone still tells copiers apart
        user = ""
    digest = hashlib.sha256(f"{user}\0{paths.root}".encode()).hexdigest()[:20]
    return f"copier_gui-{digest}"


class RaiseServer(QObject):
    """Listens for a second start on the same folder; ``raiseRequested`` asks the window to show."""

    raiseRequested = Signal()

    def __init__(self, paths: UserPaths, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(paths)
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        # A window that crashed leaves its socket file behind on POSIX; whoever holds the folder's
        # lock may clear it, since no other window of this folder can be running.
        QLocalServer.removeServer(self.name)
        return self._server.listen(self.name)

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while (socket := self._server.nextPendingConnection()) is not None:
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(lambda s=socket: self._forget(s))
            if socket.bytesAvailable():
                self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll().data())
        if len(data) > 64:  # not one of ours: nothing it says is worth keeping
            socket.abort()
            return
        self._buffers[socket] = data
        if data == _REQUEST:
            self.raiseRequested.emit()
            socket.write(_ANSWER)
            socket.flush()

    def _forget(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        socket.deleteLater()


def raise_running_window(paths: UserPaths, timeout_ms: int = 3000) -> bool:
    """Ask the window running on ``paths`` to come forward; False if no window answered."""
    app = QCoreApplication.instance() or QCoreApplication([])  # noqa: F841 (Qt's sockets want one alive)
    socket = QLocalSocket()
    socket.connectToServer(server_name(paths))
    if not socket.waitForConnected(timeout_ms):
        return False
    try:
        socket.write(_REQUEST)
        if not socket.waitForBytesWritten(timeout_ms):
            return False
        # The answer may be here already (it can arrive while the request is being written), and
        # waitForReadyRead waits only for bytes not yet read in.
        answer = bytes(socket.readAll().data())
        while len(answer) < len(_ANSWER) and socket.waitForReadyRead(timeout_ms):
            answer += bytes(socket.readAll().data())
        return answer == _ANSWER
    finally:
        socket.abort()
