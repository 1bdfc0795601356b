"""The log file: records at the chosen level reach logs/copier_gui.log through a queue, rotated."""

from __future__ import annotations

import logging

import pytest

from copier_gui.logs import BACKUPS, MAX_BYTES, configure_logging
from copier_gui.paths import user_paths


def test_records_at_the_level_reach_the_file_and_below_it_do_not(tmp_path):
    paths = user_paths(tmp_path / "home")
    setup = configure_logging(paths, "warning")
    try:
        log = logging.getLogger("copier_gui.test")
        log.info("not written")
        log.warning("a worker was lost")
    finally:
        setup.close()
    text = (paths.logs_dir / "copier_gui.log").read_text(encoding="utf-8")
    assert "a worker was lost" in text and "not written" not in text
    (rotating,) = setup.listener.handlers
    assert (rotating.maxBytes, rotating.backupCount) == (MAX_BYTES, BACKUPS)
    assert setup.handler not in logging.getLogger().handlers


def test_an_unknown_level_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        configure_logging(user_paths(tmp_path), "loud")
