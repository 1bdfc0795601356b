"""The desktop window: Qt widgets, item models and charts over the core's read-only views.

The core runs on the same loop through qasync and never imports this package.
"""
