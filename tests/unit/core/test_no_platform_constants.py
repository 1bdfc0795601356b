"""The core and the window know no platform's numbers: retcodes, filling flags, margin modes and order
type codes stay in the connectors (and the simulated terminal), which turn them into statuses and
capabilities. Replay drives the simulated terminal, so it may name the terminal's constants, but it
takes them from there instead of writing the numbers out again.

The check reads Python tokens, so prose (a docstring quoting a code for the trader) is not flagged,
while a number or a constant's name in code is.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import copier_gui

PACKAGE = Path(copier_gui.__file__).resolve().parent

# MetaTrader 5's trade server return codes (TRADE_RETCODE_*), 10004 to 10046.
RETCODES = range(10004, 10047)
# The MetaTrader5 module's and MQL5's constant families whose values are platform numbers.
MT5_NAME = re.compile(r"^(TRADE_RETCODE|ORDER_FILLING|SYMBOL_FILLING|ORDER_TYPE|ORDER_TIME|POSITION_TYPE|"
                      r"DEAL_TYPE|DEAL_ENTRY|ACCOUNT_MARGIN_MODE|TRADE_ACTION|SYMBOL_TRADE_EXECUTION)_")


def _tokens(path: Path) -> list[tokenize.TokenInfo]:
    source = path.read_text(encoding="utf-8")
    return [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT)]


def _retcode_literals(path: Path) -> list[tuple[int, str]]:
    return [(t.start[0], t.string) for t in _tokens(path)
            if t.type == tokenize.NUMBER and t.string.isdigit() and int(t.string) in RETCODES]


def _platform_names(path: Path) -> list[tuple[int, str]]:
    return [(t.start[0], t.string) for t in _tokens(path) if t.type == tokenize.NAME and MT5_NAME.match(t.string)]


def _margin_mode_numbers(path: Path) -> list[tuple[int, str]]:
    """``margin_mode == 2`` and its kin: a platform's margin mode read as a number."""
    tokens = _tokens(path)
    return [(t.start[0], f"margin_mode {op.string} {number.string}")
            for t, op, number in zip(tokens, tokens[1:], tokens[2:], strict=False)
            if t.string == "margin_mode" and op.string in ("==", "!=", "in") and number.type == tokenize.NUMBER]


def _report(path: Path, hits: list[tuple[int, str]]) -> list[str]:
    return [f"copier_gui/{path.relative_to(PACKAGE)}:{line}: {text}" for line, text in hits]


def _files(package: str) -> list[Path]:
    files = sorted((PACKAGE / package).rglob("*.py"))
    assert files, f"no Python files under copier_gui/{package}"
    return files


def test_the_core_and_the_window_hold_no_retcode_or_platform_constant():
    found = [hit for package in ("core", "ui") for path in _files(package)
             for hit in _report(path, [*_retcode_literals(path), *_platform_names(path), *_margin_mode_numbers(path)])]
    assert found == [], "platform constants outside the connectors:\n" + "\n".join(found)


def test_replay_takes_the_terminals_numbers_from_the_terminal():
    found = [hit for path in _files("replay")
             for hit in _report(path, [*_retcode_literals(path), *_margin_mode_numbers(path)])]
    assert found == [], "MetaTrader numbers written out in replay:\n" + "\n".join(found)


def test_the_guard_sees_a_retcode_a_filling_name_and_a_margin_mode_test(tmp_path):
    # The guard must be able to fail: each pattern it looks for is found in code, and not in prose.
    sample = tmp_path / "sample.py"
    sample.write_text("if r.retcode == 10025 or f == mt5.ORDER_FILLING_RETURN or a.margin_mode == 2:\n"
                      "    pass  # 10004 in a comment is prose\n"
                      "TEXT = 'ORDER_FILLING_FOK and 10009 in a string are prose too'\n", encoding="utf-8")
    assert _retcode_literals(sample) == [(1, "10025")]
    assert _platform_names(sample) == [(1, "ORDER_FILLING_RETURN")]
    assert _margin_mode_numbers(sample) == [(1, "margin_mode == 2")]
    reader = tmp_path / "reader.py"
    reader.write_text("a = report.extra.get('filling')\nb = report.extra['sent']\nc = journal(**report.extra)\n",
                      encoding="utf-8")
    assert [line for line, _ in _extra_reads(reader)] == [1, 2]


def _extra_reads(path: Path) -> list[tuple[int, str]]:
    """``x.extra.get(...)`` or ``x.extra[...]``: a key of a report's free-form ``extra`` read in code."""
    tokens = _tokens(path)
    return [(t.start[0], f"extra{op.string}{key.string}")
            for t, op, key in zip(tokens, tokens[1:], tokens[2:], strict=False)
            if t.string == "extra" and (op.string == "[" or (op.string == "." and key.string == "get"))]


def test_the_core_reads_a_reports_typed_fields_not_its_free_form_extra():
    # Each connector fills ``extra`` with what its platform says (a filling mode, the raw request),
    # for journals only: the core acts on the report's typed, platform-neutral fields.
    found = [hit for path in _files("core") for hit in _report(path, _extra_reads(path))]
    assert found == [], "the core reads a report's extra:\n" + "\n".join(found)
