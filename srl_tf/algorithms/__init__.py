"""Algorithms. Each module exposes ``Config`` (with ``make_agent``) and its ``Agent``."""
