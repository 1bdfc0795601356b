"""The replication core: watch the master, plan per slave, execute, reconcile, journal, measure.

It runs on any asyncio loop and never imports Qt, qasync or a platform package (an import
contract in pyproject.toml enforces this).
"""
