# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a call that might block (a FIFO opened for reading waits for a writer forever) so that
the test fails after a few seconds instead of hanging the whole run."""

from __future__ import annotations

import threading


def within(seconds, function, *args, **kwargs):
    """function(...) in a daemon thread: its value, or its exception re-raised; an AssertionError
    when it has not returned after ``seconds`` (the thread is left blocked; it dies with the process)."""
    outcome = []

    def run():
        try:
            outcome.append(("ok", function(*args, **kwargs)))
        except BaseException as exc:  # pylint: disable=broad-except
            outcome.append(("raised", exc))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, "still blocked after %s s (a FIFO opened for reading waits for a writer forever)" % seconds
    kind, value = outcome[0]
    if kind == "raised":
        raise value
    return value
