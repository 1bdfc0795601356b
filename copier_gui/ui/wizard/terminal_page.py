"""Page 2 of the wizard, and the edit dialog's terminal section: which terminal, bridge or demo broker.

``TerminalPanel`` is the part both use: discovered terminals, a path with Browse, the bridge's
address, what answers there (our bridge or an mt5linux server) and our bridge's shared secret, and
the list of demo brokers (MetaTrader 5 and cTrader ones). The bridge's secret goes to the keyring
the moment it is accepted; the panel forgets it at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from copier_gui import account_setup, secrets
from copier_gui.bridge import pairing
from copier_gui.connectors.mt5.capabilities import account_capabilities
from copier_gui.connectors.mt5.discovery import TERMINAL_EXE, DiscoveredTerminal
from copier_gui.sim import PROFILES
from copier_gui.sim.ctrader import CTRADER_PROFILES, NETTED
from copier_gui.ui.wizard.common import (
    ROLE_PAGE,
    WizardHost,
    error_label,
    open_file_dialog,
    show_error,
)

log = logging.getLogger(__name__)

Discover = Callable[[], Iterable[DiscoveredTerminal]]

# What answers at the bridge's address, and what each means for the trader.
BRIDGE_KINDS = (
    ("copier", "copier_gui's bridge (encrypted, paired with a shared secret)"),
    ("mt5linux", "an mt5linux server on this computer"),
    ("mt5linux_remote", "an mt5linux server on another computer"),
)
MT5LINUX_WARNING = ("An mt5linux server runs any Python code its client sends, with no password of its own: "
                    "anyone who can reach its port controls the terminal and the computer it runs on. Keep it "
                    "bound to 127.0.0.1.")
REMOTE_WARNING = (" On another computer, the account's password also crosses the network in clear: use this only "
                  "over a network you trust (an SSH tunnel or a VPN).")


class TerminalPanel(QWidget):
    """Chooses a terminal (path, and the bridge's address) or, for the demo, a simulated broker."""

    TERMINAL, DEMO = range(2)
    changed = Signal()

    def __init__(self, discover: Discover, *, bridge_host: str = "127.0.0.1", bridge_port: int = 18812,
                 bridge_kind: str = "copier", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._discover_fn = discover
        self._dialog: QFileDialog | None = None
        self.found: list[DiscoveredTerminal] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        self.error = error_label()
        layout.addWidget(self.error)

        # The terminal panel: discovered installs, a path, Browse; the bridge's address too.
        panel = QWidget()
        terminal_layout = QVBoxLayout(panel)
        terminal_layout.setContentsMargins(0, 0, 0, 0)
        self.status = QLabel()
        self.status.setWordWrap(True)
        terminal_layout.addWidget(self.status)
        self.terminal_list = QListWidget()
        self.terminal_list.setObjectName("terminal_list")
        self.terminal_list.setWordWrap(True)
        self.terminal_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.terminal_list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.terminal_list.currentItemChanged.connect(self._on_terminal_chosen)
        terminal_layout.addWidget(self.terminal_list, 1)
        row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.setObjectName("terminal_path")
        self.path.setPlaceholderText(rf"C:\Program Files\MetaTrader 5\{TERMINAL_EXE}")
        self.path.textChanged.connect(self._on_path_edited)
        self.browse = QPushButton("Browse…")
        self.browse.setObjectName("browse")
        self.browse.clicked.connect(self._browse)
        row.addWidget(QLabel("Terminal:"))
        row.addWidget(self.path, 1)
        row.addWidget(self.browse)
        terminal_layout.addLayout(row)
        self.bridge_box = QGroupBox("Bridge address")
        bridge_form = QFormLayout(self.bridge_box)
        self.bridge_host = QLineEdit(bridge_host)
        self.bridge_host.setObjectName("bridge_host")
        self.bridge_port = QSpinBox()
        self.bridge_port.setObjectName("bridge_port")
        self.bridge_port.setRange(1, 65535)
        self.bridge_port.setValue(bridge_port)
        self.bridge_secret = QLineEdit()
        self.bridge_secret.setObjectName("bridge_secret")
        self.bridge_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.bridge_kind = QComboBox()
        self.bridge_kind.setObjectName("bridge_kind")
        for key, text in BRIDGE_KINDS:
            self.bridge_kind.addItem(text, key)
        self.bridge_kind.setCurrentIndex(max(self.bridge_kind.findData(bridge_kind), 0))
        self.bridge_warning = QLabel()
        self.bridge_warning.setObjectName("bridge_warning")
        self.bridge_warning.setWordWrap(True)
        self.bridge_warning.setStyleSheet("color: #8a4b00;")
        bridge_form.addRow("Server:", self.bridge_kind)
        bridge_form.addRow(self.bridge_warning)
        bridge_form.addRow("Host:", self.bridge_host)
        bridge_form.addRow("Port:", self.bridge_port)
        bridge_form.addRow("Shared secret:", self.bridge_secret)
        self._secret_label = bridge_form.labelForField(self.bridge_secret)
        self.bridge_hint = QLabel(
            "The bridge server prints its shared secret at its first start; run it with "
            "--show-pairing to see it again. The secret goes straight into the system keyring.")
        self.bridge_hint.setWordWrap(True)
        bridge_form.addRow(self.bridge_hint)
        self.bridge_host.textChanged.connect(self._show_pairing_state)
        self.bridge_port.valueChanged.connect(self._show_pairing_state)
        self.bridge_secret.textChanged.connect(lambda *_: show_error(self.error, ""))
        self.bridge_kind.currentIndexChanged.connect(lambda *_: self._on_bridge_kind())
        self._on_bridge_kind()
        terminal_layout.addWidget(self.bridge_box)
        self.stack.addWidget(panel)

        # The demo panel: one entry per simulated broker.
        self.profiles = QListWidget()
        self.profiles.setObjectName("demo_profiles")
        # Wrapped, never scrolled sideways: the edit dialog gives the list half a small screen.
        self.profiles.setWordWrap(True)
        self.profiles.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.profiles.setResizeMode(QListWidget.ResizeMode.Adjust)
        for name, profile in sorted(PROFILES.items()):
            mode = account_capabilities(profile).position_model.value
            sample = ", ".join(s.name for s in profile.symbols[:2])
            item = QListWidgetItem(f"{profile.company}\n    server {profile.server} · {profile.currency} "
                                   f"account · {mode} · symbols like {sample}")
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.profiles.addItem(item)
        # Simulated cTrader brokers: reached over the Open API, so no terminal and no password.
        for name, broker in sorted(CTRADER_PROFILES.items()):
            mode = "netting" if broker.account_type == NETTED else "hedging"
            sample = ", ".join(s.name for s in broker.symbols[:2])
            item = QListWidgetItem(f"{broker.broker_name} (cTrader)\n    server {account_setup.demo_server(name)} · "
                                   f"{broker.currency} account · {mode} · symbols like {sample}")
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.profiles.addItem(item)
        self.profiles.currentItemChanged.connect(lambda *_: self.changed.emit())
        self.stack.addWidget(self.profiles)

    # -- which panel
    def show_platform(self, platform: str) -> None:
        """Show the demo brokers, or the terminal (with the bridge's address for the bridge);
        looks for installed terminals once the panel is on screen."""
        show_error(self.error, "")
        if platform == "demo":
            self.stack.setCurrentIndex(self.DEMO)
            if self.profiles.currentRow() < 0:
                self.profiles.setCurrentRow(0)
            return
        bridge = platform == "mt5_bridge"
        self.stack.setCurrentIndex(self.TERMINAL)
        self.bridge_box.setVisible(bridge)
        self.bridge_secret.clear()
        if bridge:
            self._show_pairing_state()
        self.status.setText("Looking for installed MetaTrader 5 terminals…")
        # After the panel is on screen, so the search never delays showing it.
        QTimer.singleShot(0, self, self._discover)

    def select_profile(self, profile: str | None) -> None:
        for row in range(self.profiles.count()):
            if self.profiles.item(row).data(Qt.ItemDataRole.UserRole) == profile:
                self.profiles.setCurrentRow(row)
                return

    def selected_profile(self) -> str | None:
        item = self.profiles.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _discover(self) -> None:
        try:
            found = list(self._discover_fn())
        except Exception as exc:  # a broken folder must not stop linking: Browse still works
            log.warning("terminal discovery failed: %s", exc)
            found = []
        self.found = found
        current = self.path.text()
        self.terminal_list.blockSignals(True)
        self.terminal_list.clear()
        for terminal in found:
            item = QListWidgetItem(f"{terminal.name}\n    {terminal.path}")
            item.setData(Qt.ItemDataRole.UserRole, str(terminal.path))
            self.terminal_list.addItem(item)
            if str(terminal.path) == current:
                self.terminal_list.setCurrentItem(item)
        self.terminal_list.blockSignals(False)
        if found:
            self.status.setText(f"Found {len(found)} MetaTrader 5 terminal{'s' if len(found) != 1 else ''}. "
                                "Choose one, or browse for another terminal64.exe.")
        else:
            self.status.setText("No installed MetaTrader 5 terminal was found. Browse for its "
                                "terminal64.exe, or type its path.")

    def _on_terminal_chosen(self, item: QListWidgetItem | None, _previous=None) -> None:
        if item is not None:
            self.path.setText(item.data(Qt.ItemDataRole.UserRole))

    def _on_path_edited(self, _text: str) -> None:
        show_error(self.error, "")
        self.changed.emit()

    def _browse(self) -> None:
        self._dialog = open_file_dialog(self, "Choose the MetaTrader 5 terminal",
                                        [f"MetaTrader 5 terminal ({TERMINAL_EXE})", "Programs (*.exe)", "All files (*)"],
                                        self.path.text().strip(), self.use_browsed)

    def use_browsed(self, path: str) -> None:
        if path:
            self.terminal_list.clearSelection()
            self.path.setText(path)

    # -- what answers at the bridge's address
    def selected_bridge_kind(self) -> str:
        return self.bridge_kind.currentData()

    def select_bridge_kind(self, kind: str) -> None:
        self.bridge_kind.setCurrentIndex(max(self.bridge_kind.findData(kind), 0))

    def _on_bridge_kind(self) -> None:
        kind = self.selected_bridge_kind()
        ours = kind == "copier"
        # Only our bridge has a shared secret; an mt5linux server has none to paste.
        self.bridge_secret.setVisible(ours)
        if self._secret_label is not None:
            self._secret_label.setVisible(ours)
        self.bridge_hint.setVisible(ours)
        warning = "" if ours else MT5LINUX_WARNING + (REMOTE_WARNING if kind == "mt5linux_remote" else "")
        self.bridge_warning.setText(warning)
        self.bridge_warning.setVisible(bool(warning))
        show_error(self.error, "")
        self.changed.emit()

    # -- the bridge's shared secret
    def _paired(self, host: str, port: int) -> bool:
        try:
            return pairing.bridge_secret(host, port) is not None
        except secrets.SecretsUnavailable:
            return False  # said when the secret is stored, where the trader can act on it

    def _show_pairing_state(self, *_) -> None:
        paired = self._paired(self.bridge_host.text().strip(), self.bridge_port.value())
        self.bridge_secret.setPlaceholderText(
            "paired: kept in the system keyring; paste to replace it" if paired
            else "paste the secret the bridge server printed")

    def pair_bridge(self, host: str, port: int) -> tuple[str, bool] | None:
        """Store a pasted secret in the keyring (the field forgets it), or check one is there.

        Returns the keyring entry and whether it was added now, or None once the error is shown.
        """
        typed = self.bridge_secret.text()
        try:
            if not typed.strip():
                if pairing.bridge_secret(host, port) is not None:  # paired before: kept
                    return pairing.bridge_secret_key(host, port), False
                show_error(self.error, pairing.secret_problem(typed))
                return None
            problem = pairing.secret_problem(typed)
            if problem:
                show_error(self.error, problem)
                return None
            existed = pairing.bridge_secret(host, port) is not None
            pairing.store_bridge_secret(host, port, typed)
        except secrets.SecretsUnavailable as exc:
            show_error(self.error, exc.message)
            return None
        self.bridge_secret.clear()
        del typed
        self._show_pairing_state()
        return pairing.bridge_secret_key(host, port), not existed


class TerminalPage(QWizardPage):
    def __init__(self, wizard: WizardHost) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Terminal")
        self.panel = TerminalPanel(wizard.discover, bridge_host=wizard.draft.bridge_host,
                                   bridge_port=wizard.draft.bridge_port, bridge_kind=wizard.draft.bridge_kind)
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel)
        self.panel.changed.connect(self.completeChanged.emit)
        # The panel's parts, by the names the page always had.
        for name in ("stack", "status", "terminal_list", "path", "browse", "bridge_box", "bridge_host",
                     "bridge_port", "bridge_secret", "bridge_hint", "bridge_kind", "bridge_warning", "profiles",
                     "error"):
            setattr(self, name, getattr(self.panel, name))

    @property
    def found(self) -> list[DiscoveredTerminal]:
        return self.panel.found

    @property
    def _dialog(self) -> QFileDialog | None:
        return self.panel._dialog

    @property
    def demo(self) -> bool:
        return self._wizard.draft.demo

    def nextId(self) -> int:
        # A simulated cTrader broker has no login to type and no terminal to test.
        if self.demo and account_setup.is_ctrader_demo(self.panel.selected_profile()):
            return ROLE_PAGE
        return super().nextId()

    def initializePage(self) -> None:
        platform = self._wizard.draft.platform
        if platform == "demo":
            self.setSubTitle("Choose a simulated broker. It opens a demo account for you; the brokers "
                             "differ like real ones (symbol names, lot sizes, currencies).")
        else:
            self.setSubTitle("Choose the account's MetaTrader 5 terminal (terminal64.exe)"
                             + (" as the Windows side under Wine sees it." if platform == "mt5_bridge"
                                else "."))
        self.panel.show_platform(platform)

    def isComplete(self) -> bool:
        if self.demo:
            return self.panel.selected_profile() is not None
        return bool(self.path.text().strip())

    def validatePage(self) -> bool:
        wizard, draft = self._wizard, self._wizard.draft
        if self.demo:
            profile = self.panel.selected_profile()
            if profile is None:
                return False
            if draft.demo_profile != profile or draft.demo_login is None:
                draft.demo_profile = profile
                draft.demo_login = wizard.issue_demo_login(profile)
            draft.terminal_path = ""
            if account_setup.is_ctrader_demo(profile):
                # Opened by the simulated broker: its login and server are given, and there is no password.
                draft.login = str(draft.demo_login)
                draft.server = account_setup.demo_server(profile)
                draft.account = None
                draft.slave_symbols = [s.name for s in CTRADER_PROFILES[profile].symbols]
            return True
        draft.terminal_path = self.path.text().strip()
        draft.bridge_host = self.bridge_host.text().strip()
        draft.bridge_port = self.bridge_port.value()
        draft.bridge_kind = self.panel.selected_bridge_kind() if draft.platform == "mt5_bridge" else "copier"
        problems = draft.terminal_problems()
        if problems:
            show_error(self.error, next(iter(problems.values())))
            return False
        draft.demo_profile = None
        draft.demo_login = None
        if draft.platform == "mt5_bridge" and draft.bridge_kind == "copier":
            paired = self.panel.pair_bridge(draft.bridge_host, draft.bridge_port)
            if paired is None:
                return False
            wizard.bridge_secret_stored(*paired)
        return True
