"""srl_tf's log: notices a user should see once (such as an automatic action split).

Messages go to the ``srl_tf`` logger. When the application has configured logging (the root logger
has handlers) they reach it by propagation and nothing else prints them; otherwise they print to
stderr as ``[srl_tf] message``, so a plain script sees them without any set-up.
"""

from __future__ import annotations

import logging
import sys


class _WhenUnconfigured(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if logging.getLogger().handlers:
            return  # the application's own handlers receive the record by propagation
        try:
            sys.stderr.write(f"[srl_tf] {record.getMessage()}\n")
        except Exception:  # a closed stream must never break training
            self.handleError(record)


logger = logging.getLogger("srl_tf")
if not any(isinstance(h, _WhenUnconfigured) for h in logger.handlers):
    logger.addHandler(_WhenUnconfigured())
if logger.level == logging.NOTSET:
    logger.setLevel(logging.INFO)
