"""Drift reports: each slave's tracking difference against the master and its parts, as one
self-contained HTML file, a CSV table and JSON, for any period of the journal.

Qt-free, so the command line, the window's export and replay all write the same report.
``render_html(drifts, ...)`` takes what ``core.drift_ledger.DriftLedger.drift()`` gives.
"""
