"""The demo: simulated brokers, an automated master trader, and the entry points that run them.

Nothing in the copier imports this package (an import contract says so): the command line hands
the window a demo factory, and headless mode runs a copier the demo built.
"""
