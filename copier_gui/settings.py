"""The user's saved setup: linked accounts, copy rules, the copy switch and the window's layout.

Read once at start and written after every change, as JSON in the user's folder. A file that cannot
be read is kept as a backup and explained, never silently replaced; passwords never appear here.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
    field_validator,
    model_validator,
)

from copier_gui import strictjson
from copier_gui.alerts.settings import AlertSettings
from copier_gui.clock import SYSTEM_CLOCK, Clock
from copier_gui.core.copier import DEFAULT_MAGIC, SlaveMode
from copier_gui.core.rules import CopyRules

__all__ = [
    "ACCOUNT_ID_PATTERN",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AccountSettings",
    "Migration",
    "NatsSettings",
    "Settings",
    "SettingsError",
    "WindowSettings",
    "load_settings",
    "save_settings",
    "slugify",
    "validation_problems",
]

Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _v1_price_limits_in_units(raw: dict[str, Any]) -> dict[str, Any]:
    """v1 -> v2: a slave's price tolerance became ``{value, unit}``, and leaving it out now means
    the asset class's default. Each slave keeps exactly what it had: its own
    ``max_price_deviation_points: N`` as N points, or the 200 points v1 gave a slave without one.

    Anything that is not the expected shape is left as it is, for validation to explain.
    """
    accounts = raw.get("accounts")
    if not isinstance(accounts, list):
        return raw
    migrated = []
    for account in accounts:
        if isinstance(account, dict) and account.get("role") == "slave":
            rules = account.get("rules")
            rules = {} if rules is None else rules
            tolerances = rules.get("tolerances") if isinstance(rules, dict) else None
            tolerances = {} if tolerances is None and isinstance(rules, dict) else tolerances
            if isinstance(tolerances, dict) and "max_price_deviation" not in tolerances:
                tolerances = dict(tolerances)
                points = tolerances.pop("max_price_deviation_points", 200)
                tolerances["max_price_deviation"] = {"value": points, "unit": "point"}
                account = {**account, "rules": {**rules, "tolerances": tolerances}}
        migrated.append(account)
    raw["accounts"] = migrated
    return raw


# MIGRATIONS[i] turns a version i+1 file (the raw dict) into version i+2. Append only: a released
# step never changes, because files written by that release depend on it.
MIGRATIONS: list[Migration] = [_v1_price_limits_in_units]
SCHEMA_VERSION = 1 + len(MIGRATIONS)

ACCOUNT_ID_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,38}[a-z0-9])?$")
# Unknown keys that look like a place for a secret get a pointer to the keyring instead of the
# generic "unknown setting", so nobody "fixes" the error by finding another key to put it in.
_SECRET_KEYS = re.compile(r"pass(word|wd|phrase)?|secret|token|credential", re.IGNORECASE)


class _Strict(BaseModel):
    # No infinity or NaN: ``1e400`` in a hand-edited file parses as infinity and passes ``gt=0``.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def slugify(text: str, *, fallback: str = "account") -> str:
    """A valid account id made from free text: lower case, digits, '-' and '_', at most 40 long."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    slug = re.sub(r"-{2,}", "-", slug)[:40].strip("-_")
    return slug or fallback


class NatsSettings(_Strict):
    """The NATS server through which the core reaches the worker host serving an account
    (``copier-gui worker-host``). The user's password is in the keyring under ``password_key``
    (default ``nats:USER``, as the worker host stores it); ``ca`` is the PEM of the certificate
    authority to trust (the system's when None), ``cert`` and ``key`` a client certificate;
    ``jetstream_domain`` the hub's JetStream domain, where this party connects to a leaf node."""

    url: str = Field(min_length=1, max_length=2000)
    instance: str = Field(default="copier", min_length=1, max_length=100)
    user: str | None = Field(default=None, min_length=1, max_length=200)
    password_key: str | None = Field(default=None, min_length=1, max_length=200)
    ca: str | None = Field(default=None, min_length=1)
    cert: str | None = Field(default=None, min_length=1)
    key: str | None = Field(default=None, min_length=1)
    jetstream_domain: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _safe(self) -> NatsSettings:
        # The transport's own checks (TLS and credentials off this computer, no password in the
        # URL, a token-safe instance): one rule for the command line and the file. NatsSetupError
        # is a ValueError, so it is reported against this part of the file.
        self.options()
        return self

    def options(self):
        """The transport's NatsOptions for these settings."""
        from copier_gui.workers.nats_transport import NatsOptions

        key = self.password_key or (f"nats:{self.user}" if self.user else None)
        return NatsOptions(self.url, instance=self.instance, user=self.user, password_key=key, ca=self.ca,
                           cert=self.cert, key=self.key, jetstream_domain=self.jetstream_domain)


class AccountSettings(_Strict):
    """One linked trading account. The password is not here: it lives in the system keyring."""

    id: str
    role: Literal["master", "slave"]
    platform: Literal["mt5", "mt5_bridge", "ctrader", "demo"]
    terminal_path: str | None = None
    login: int | None = Field(default=None, ge=0, lt=2**64)
    server: str | None = Field(default=None, min_length=1, max_length=253)
    bridge_host: str = "127.0.0.1"
    bridge_port: int = Field(default=18812, ge=1, le=65535)
    # What answers at bridge_host:bridge_port: the copier's own bridge (TLS, pairing), or an
    # mt5linux server (rpyc classic: no encryption, runs any code sent) on this computer;
    # mt5linux_remote lets it be on another, the password crossing the network in clear. Added
    # without a new schema version: a file without it means the copier's bridge.
    bridge_kind: Literal["copier", "mt5linux", "mt5linux_remote"] = "copier"
    # A cTrader account, reached over the Open API: the endpoint (live.ctraderapi.com for live
    # accounts, demo.ctraderapi.com for demo ones), the Open API application's id (its secret is in
    # the keyring), and the account's ctidTraderAccountId, chosen from those the trader's token
    # may use. ``login`` holds the number the trader sees in cTrader. The trader's tokens are in
    # the keyring under ``ctrader_token_key``: one pair serves every account of one cTrader ID, so
    # accounts authorized together share it (a refresh spends the old refresh token for all).
    ctrader_host: str = Field(default="live.ctraderapi.com", min_length=1, max_length=253)
    ctrader_port: int = Field(default=5035, ge=1, le=65535)
    ctrader_client_id: str | None = Field(default=None, min_length=1, max_length=200)
    ctrader_account_id: int | None = Field(default=None, gt=0, lt=2**63)
    ctrader_token_key: str | None = Field(default=None, min_length=1, max_length=200)
    demo_profile: str | None = None
    label: str = ""
    # Copying, close-only (no new entries; exits mirrored) or paused (nothing sent). Added without a
    # new schema version: a file from before it has only ``copy_enabled``, whose off was close-only.
    mode: SlaveMode = SlaveMode.COPYING
    rules: CopyRules | None = None
    magic: int = Field(default=DEFAULT_MAGIC, ge=0, lt=2**64)
    # Where the account's worker runs: a process on this computer, or on a worker host reached over
    # NATS (``nats`` says how), whose own settings and keyring reach the terminal. Added without a
    # new schema version: a file without it runs its workers here.
    worker_host: Literal["local", "nats"] = "local"
    nats: NatsSettings | None = None

    @model_validator(mode="before")
    @classmethod
    def _mode_from_copy_switch(cls, data: Any) -> Any:
        # ``copy_enabled`` is read, and written beside ``mode`` for whatever reads the file: a file
        # with only the switch gets the mode it meant, and a switch that disagrees with the mode
        # is a change of the switch (the window saves a flipped switch over the account as it was).
        if not isinstance(data, dict) or "copy_enabled" not in data:
            return data
        data = dict(data)
        enabled = data.pop("copy_enabled")
        if not isinstance(enabled, bool):
            raise ValueError(f"copy_enabled must be true or false (found {enabled!r})")
        try:
            mode = SlaveMode(data["mode"]) if data.get("mode") is not None else None
        except ValueError:
            return data  # the mode's own check names it
        if mode is None or enabled != (mode is SlaveMode.COPYING):
            data["mode"] = SlaveMode.COPYING if enabled else SlaveMode.CLOSE_ONLY
        return data

    @model_validator(mode="before")
    @classmethod
    def _slaves_have_rules(cls, data: Any) -> Any:
        # A slave always has rules; writing them out in full keeps the file self-explanatory.
        if isinstance(data, dict) and data.get("role") == "slave" and data.get("rules") is None:
            data = {**data, "rules": {}}
        return data

    @field_validator("id")
    @classmethod
    def _id_is_a_slug(cls, value: str) -> str:
        if not ACCOUNT_ID_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a valid account id: use 1 to 40 lower-case letters, "
                             "digits, '-' or '_', starting and ending with a letter or digit")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AccountSettings:
        if self.role == "master" and self.rules is not None:
            raise ValueError("a master has no copy rules: rules belong to each slave")
        if self.platform == "demo":
            from copier_gui.sim import PROFILES
            from copier_gui.sim.ctrader import CTRADER_PROFILES

            known = set(PROFILES) | set(CTRADER_PROFILES)
            if self.demo_profile not in known:
                raise ValueError(f"demo_profile must name a simulated broker ({', '.join(sorted(known))}), "
                                 f"not {self.demo_profile!r}")
        elif self.demo_profile is not None:
            raise ValueError(f"demo_profile applies only to the demo platform, not to {self.platform}")
        if self.platform == "ctrader":
            missing = [name for name in ("ctrader_client_id", "ctrader_account_id", "ctrader_token_key")
                       if getattr(self, name) is None]
            if missing:
                raise ValueError(f"a cTrader account needs {', '.join(missing)}: link it again with the "
                                 "account wizard or 'accounts link --platform ctrader'")
        if self.worker_host == "nats":
            if self.platform not in ("mt5", "mt5_bridge"):
                raise ValueError(f"worker_host 'nats': only an mt5 or mt5_bridge account runs in a worker, "
                                 f"not a {self.platform} one")
            if self.nats is None:
                raise ValueError("worker_host 'nats' needs the nats settings (at least its url)")
        elif self.nats is not None:
            raise ValueError("nats applies only to an account whose worker_host is 'nats'")
        return self

    @property
    def demo_platform(self) -> str:
        """The platform a demo account's simulated broker speaks: "ctrader" or "mt5"."""
        from copier_gui.sim.ctrader import CTRADER_PROFILES

        return "ctrader" if self.demo_profile in CTRADER_PROFILES else "mt5"

    @computed_field
    @property
    def copy_enabled(self) -> bool:
        """The copy switch: on only while copying (close-only and paused take no new entries)."""
        return self.mode is SlaveMode.COPYING

    @property
    def copy_rules(self) -> CopyRules:
        """The slave's rules (defaults for a master, which never uses them)."""
        return self.rules if self.rules is not None else CopyRules()


class WindowSettings(_Strict):
    geometry: str | None = None  # base64 of QWidget.saveGeometry(), the last one saved
    state: str | None = None  # base64 of QMainWindow.saveState()
    # The geometry per screen (name, size and scale): a laptop docked to a large screen and
    # undocked again opens right on each. Added without a new schema version (empty by default).
    by_screen: dict[str, str] = Field(default_factory=dict)
    # View → Theme: the system's scheme, or always light or dark. Added without a new schema version.
    theme: Literal["auto", "light", "dark"] = "auto"

    def geometry_for(self, screen: str) -> str | None:
        """The layout saved on this screen; a new screen gets none (the window fits it), except
        in a file from before per-screen memory, whose one geometry serves."""
        if self.by_screen:
            return self.by_screen.get(screen)
        return self.geometry

    def remember(self, screen: str, geometry: str) -> WindowSettings:
        return self.model_copy(update={"geometry": geometry, "by_screen": {**self.by_screen, screen: geometry}})


class Settings(_Strict):
    schema_version: int = Field(default=SCHEMA_VERSION, ge=1)
    accounts: list[AccountSettings] = Field(default_factory=list)
    copying: bool = True
    poll_interval_ms: float = Field(default=5.0, gt=0, le=60_000)
    window: WindowSettings = Field(default_factory=WindowSettings)
    # Added without a new schema version: a file without it gets the defaults (alerts off).
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    @field_validator("accounts")
    @classmethod
    def _accounts_fit_together(cls, accounts: list[AccountSettings]) -> list[AccountSettings]:
        seen: set[str] = set()
        for account in accounts:
            if account.id in seen:
                raise ValueError(f"two accounts have the id {account.id!r}: ids must be unique")
            seen.add(account.id)
        masters = [a.id for a in accounts if a.role == "master"]
        if len(masters) > 1:
            raise ValueError(f"{len(masters)} accounts are marked master ({', '.join(masters)}): "
                             "at most one account may be the master")
        return accounts

    @property
    def master(self) -> AccountSettings | None:
        return next((a for a in self.accounts if a.role == "master"), None)

    @property
    def slaves(self) -> list[AccountSettings]:
        return [a for a in self.accounts if a.role == "slave"]

    def account(self, account_id: str) -> AccountSettings | None:
        return next((a for a in self.accounts if a.id == account_id), None)

    def updated(self, **changes: Any) -> Settings:
        """A copy with ``changes``, validated like a loaded file (``model_copy`` would not check)."""
        return type(self).model_validate({**dict(self), **changes})

    def with_account(self, account: AccountSettings) -> Settings:
        """A copy with ``account`` added, or replacing the account with the same id."""
        others = [a for a in self.accounts if a.id != account.id]
        if len(others) == len(self.accounts):
            return self.updated(accounts=[*self.accounts, account])
        return self.updated(accounts=[account if a.id == account.id else a for a in self.accounts])

    def without_account(self, account_id: str) -> Settings:
        return self.updated(accounts=[a for a in self.accounts if a.id != account_id])

    def with_master(self, account_id: str, *, old_master_mode: SlaveMode = SlaveMode.COPYING) -> Settings:
        """``account_id`` made the master (its rules dropped: a master has none), the master before
        it made a slave with default rules in ``old_master_mode``. KeyError for an unknown id."""
        account = self.account(account_id)
        if account is None:
            raise KeyError(f"no linked account has the id {account_id!r}")
        if account.role == "master":
            return self
        old = self.master
        changed = {account.id: AccountSettings.model_validate({**dict(account), "role": "master", "rules": None})}
        if old is not None:
            changed[old.id] = AccountSettings.model_validate({**dict(old), "role": "slave", "rules": None,
                                                              "mode": old_master_mode})
        return self.updated(accounts=[changed.get(a.id, a) for a in self.accounts])


class SettingsError(Exception):
    """The settings file cannot be used; the message names the file, the fields and the backup."""

    def __init__(self, message: str, *, path: Path, problems: Sequence[tuple[str, str]] = (),
                 backup: Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.problems = tuple(problems)
        self.backup = backup


# ---------------------------------------------------------------------------- loading

def load_settings(path: str | os.PathLike[str], *, backups_dir: str | os.PathLike[str] | None = None,
                  migrations: Sequence[Migration] = MIGRATIONS, clock: Clock = SYSTEM_CLOCK) -> Settings:
    """Read the settings; a missing file is a first run and gives the defaults.

    A file that cannot be used is copied to ``backups_dir`` (default: a ``backups`` folder beside
    it) and SettingsError explains what is wrong where. The original stays as it is. ``clock``
    stamps the backups' names.
    """
    path = Path(path)
    backups = Path(backups_dir) if backups_dir is not None else path.parent / "backups"
    now = clock.time
    latest = 1 + len(migrations)
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        return Settings(schema_version=latest)
    except OSError as exc:
        raise SettingsError(f"cannot read the settings file {path}: {exc.strerror or exc}", path=path) from None

    raw, problems = _parse(raw_bytes)
    if not problems:
        problems = _version_problems(raw, latest)
    if not problems:
        version = raw.get("schema_version", 1)
        if version < latest:
            # The file is about to be read as a newer version; whatever is saved next replaces it,
            # so the old one is kept for going back to the previous release.
            _backup(path, backups, now(), tag=f"v{version}")
            try:
                raw = _migrate(raw, version, migrations)
            except _MigrationFailed as exc:
                problems = [("schema_version", str(exc))]
    if not problems:
        try:
            return Settings.model_validate(raw)
        except ValidationError as exc:
            problems = _validation_problems(exc, raw)
    backup = _backup(path, backups, now())
    raise SettingsError(_message(path, problems, backup), path=path, problems=problems, backup=backup)


def _parse(raw_bytes: bytes) -> tuple[Any, list[tuple[str, str]]]:
    """The file's JSON object, or the problems that keep it from being one."""
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [("(file)", f"not UTF-8 text (byte {exc.start}): it is not a settings file")]
    if not text.strip():
        return None, [("(file)", "the file is empty")]
    try:
        value = strictjson.loads(text)
    except json.JSONDecodeError as exc:
        return None, [("(file)", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")]
    except strictjson.DuplicateKeysError as exc:
        # Which of the two values was meant is the user's call, so neither is guessed at.
        raw = json.loads(text)
        return None, [(_field_path(loc, raw), f"the key {key!r} appears twice: keep one of them")
                      for loc, key in exc.duplicates]
    if not isinstance(value, dict):
        return None, [("(top level)", f"expected a JSON object with the settings, found {_json_type(value)}")]
    return value, []


def _version_problems(raw: dict, latest: int) -> list[tuple[str, str]]:
    version = raw.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return [("schema_version", f"must be a whole number from 1, not {version!r}")]
    if version > latest:
        return [("schema_version", f"the file was written by a newer copier_gui (schema {version}); "
                                   f"this version reads up to schema {latest}: update copier_gui")]
    return []


class _MigrationFailed(Exception):
    pass


def _migrate(raw: dict, version: int, migrations: Sequence[Migration]) -> dict:
    for step in range(version, 1 + len(migrations)):
        try:
            raw = migrations[step - 1](dict(raw))
        except Exception as exc:  # a step meets files it was not written for; say which step
            raise _MigrationFailed(f"upgrading from schema {step} to {step + 1} failed: "
                                   f"{type(exc).__name__}: {exc}") from None
        if not isinstance(raw, dict):
            raise _MigrationFailed(f"upgrading from schema {step} to {step + 1} did not give an object")
        raw["schema_version"] = step + 1
    return raw


def _validation_problems(exc: ValidationError, raw: Any) -> list[tuple[str, str]]:
    problems = []
    for error in exc.errors(include_url=False):
        field = _field_path(error["loc"], raw)
        key = error["loc"][-1] if error["loc"] else ""
        if error["type"] == "extra_forbidden" and isinstance(key, str) and _SECRET_KEYS.search(key):
            text = (f"{key!r} is not a setting: passwords are kept only in the system keyring, "
                    "never in the settings file; remove it")
        elif error["type"] == "extra_forbidden":
            text = f"unknown setting {key!r} (not allowed here; check its spelling)"
        else:
            text = error["msg"].removeprefix("Value error, ")
            found = error.get("input")
            if error["type"] != "missing" and not isinstance(found, dict | list):
                text = f"{text} (found {_short(found)})"
        problems.append((field, text))
    return problems


def validation_problems(exc: ValidationError, raw: Any) -> list[tuple[str, str]]:
    """(field, text) for each of pydantic's errors in validating ``raw``: the one wording of
    validation errors, for the settings file and for any part of it given on its own (a slave's
    rules from the command line); fields are named as the file names them (``sizing.multiplier``)."""
    return _validation_problems(exc, raw)


def _field_path(loc: tuple, raw: Any) -> str:
    """``accounts[1].rules.sizing`` from pydantic's loc, naming the account when it has an id."""
    parts: list[str] = []
    node = raw
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
            node = node[item] if isinstance(node, list) and 0 <= item < len(node) else None
            if parts[:-1] == ["accounts"] and isinstance(node, dict) and isinstance(node.get("id"), str):
                parts[-1] = f"[{item}] (id {node['id']!r})"
        else:
            # Tagged-union and validator names ("function-after[...]") are pydantic's, not the user's.
            if "[" in str(item) and "]" in str(item):
                continue
            parts.append(f".{item}" if parts else str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, str | int | float | bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true/false",
            type(None): "null"}.get(type(value), type(value).__name__)


def _backup(path: Path, backups: Path, now: float, *, tag: str = "") -> Path | None:
    stamp = _dt.datetime.fromtimestamp(now, _dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{path.stem}-{tag + '-' if tag else ''}{stamp}{path.suffix or '.json'}"
    try:
        backups.mkdir(parents=True, exist_ok=True)
        target = backups / name
        counter = 1
        while target.exists():  # never overwrite an earlier backup made in the same second
            target = backups / f"{Path(name).stem}-{counter}{Path(name).suffix}"
            counter += 1
        shutil.copy2(path, target)
    except OSError:
        return None  # the message then says no backup could be made; the original is untouched
    return target


def _message(path: Path, problems: Sequence[tuple[str, str]], backup: Path | None) -> str:
    lines = [f"the settings file {path} cannot be used:"]
    lines += [f"  - {field}: {text}" for field, text in problems]
    if backup is not None:
        lines.append(f"A copy of it was kept at {backup}. Nothing was changed: correct the file "
                     "(or move it away to start with no linked accounts) and start copier_gui again.")
    else:
        lines.append("No backup copy could be made, so nothing was changed: correct the file (or "
                     "move it away to start with no linked accounts) and start copier_gui again.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- saving

def save_settings(settings: Settings, path: str | os.PathLike[str]) -> None:
    """Write the settings atomically: a crash leaves either the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(settings.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    # The temporary file sits beside the target, so os.replace stays on one filesystem and atomic.
    # mkstemp creates it readable by the user only, which suits a file naming accounts and servers.
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
