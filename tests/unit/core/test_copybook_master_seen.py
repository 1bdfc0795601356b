"""The copy book's record of the master positions the copier saw, which a look for trades it never
saw (core.round_trips) starts from after a restart."""

from __future__ import annotations

from copier_gui.core.copybook import CopyBook

DAY_MS = 86_400_000


def test_what_was_seen_survives_a_restart_and_a_day_behind_the_newest_is_dropped(tmp_path):
    path = tmp_path / "copies.sqlite3"
    book = CopyBook(path)
    assert book.newest_seen_msc() is None  # a master never seen: nothing to compare with
    book.remember_fills({7: 1_000.0}, seen={7: 5_000})
    book.see_master({8: 6_000, 7: 9_999_999})  # a ticket seen before keeps its time
    book.close()
    again = CopyBook(path)
    assert again.newest_seen_msc() == 6_000 and again.master_seen(7) and again.master_seen(8)
    assert again.fill_wall(7) == 1_000.0
    again.see_master({9: 5_000 + DAY_MS + 1})
    assert not again.master_seen(7) and again.master_seen(8) and again.master_seen(9)
    again.close()
    third = CopyBook(path)
    assert not third.master_seen(7) and third.newest_seen_msc() == 5_000 + DAY_MS + 1
    third.forget_master_seen()  # another master
    assert third.newest_seen_msc() is None and not third.master_seen(9)
    third.close()
    assert CopyBook(path).newest_seen_msc() is None
