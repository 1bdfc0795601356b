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


def test_how_far_the_master_was_watched_counts_even_with_no_position_seen_and_goes_with_the_master(tmp_path):
    path = tmp_path / "copies.sqlite3"
    book = CopyBook(path)
    book.mark_alive(1_000.0)  # the master's clock not known: how far it was watched is not either
    assert book.newest_seen_msc() is None and book.fact("last_alive") == 1_000.0
    book.mark_alive(1_001.0, 70_000)
    book.close()
    again = CopyBook(path)
    assert again.newest_seen_msc() == 70_000 and again.fact("last_alive") == 1_001.0
    again.see_master({5: 80_000})  # a position seen after the last look
    assert again.newest_seen_msc() == 80_000
    again.mark_alive(1_002.0, 90_000)
    assert again.newest_seen_msc() == 90_000
    again.set_fact("master_offset_s", 7200.0)
    again.forget_master_seen()  # another master: neither its positions nor the look count
    again.forget_fact("master_offset_s")
    assert again.newest_seen_msc() is None and again.fact("master_offset_s") is None
    again.close()
    third = CopyBook(path)
    assert third.newest_seen_msc() is None and third.fact("master_offset_s") is None
    assert third.fact("last_alive") == 1_002.0


def test_when_master_positions_changed_survives_a_restart_until_they_close(tmp_path):
    path = tmp_path / "copies.sqlite3"
    book = CopyBook(path)
    book.remember_fills({7: 1_000.0, 8: 1_100.0})
    book.remember_changes({7: 1_050.0})
    book.remember_changes({7: 1_060.0, 8: 1_200.0})  # the latest change counts
    book.close()
    again = CopyBook(path)
    assert again.change_walls() == {7: 1_060.0, 8: 1_200.0}
    again.forget_fills({8})  # 7 closed
    assert again.change_walls() == {8: 1_200.0} and again.fill_wall(7) is None
    again.close()
    assert CopyBook(path).change_walls() == {8: 1_200.0}


def test_a_copy_s_side_is_kept_and_a_book_from_before_sides_were_kept_still_opens(tmp_path):
    import sqlite3

    from copier_gui.core.model import Side

    old = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(old)
    conn.execute("CREATE TABLE copies (slave TEXT NOT NULL, master_ticket INTEGER NOT NULL, "
                 "master_volume REAL NOT NULL, slave_volume REAL NOT NULL, PRIMARY KEY (slave, master_ticket))")
    conn.execute("INSERT INTO copies VALUES ('s0', 7, 0.1, 0.2)")
    conn.commit()
    conn.close()
    book = CopyBook(old)
    assert book.get("s0", 7).side is None and book.get("s0", 7).slave_volume == 0.2
    book.remember("s0", 8, 0.3, 0.6, Side.SELL)
    book.close()
    again = CopyBook(old)
    assert again.get("s0", 8).side is Side.SELL and again.get("s0", 7).side is None
