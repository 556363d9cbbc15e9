"""Signals as an exception, held back while files are written."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from tagger.training.interrupts import Interrupted, Signals, caught_signals


@pytest.mark.slow
def test_a_signal_raises_interrupted_and_the_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as info:
        with caught_signals():
            os.kill(os.getpid(), signal.SIGTERM)  # handled at once, between two bytecodes of this thread
    assert info.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


def test_held_signals_wait_for_the_end_of_the_block():
    signals = Signals()
    done = []
    with pytest.raises(Interrupted) as info:
        with signals.held():
            signals.handle(signal.SIGINT, None)
            signals.handle(signal.SIGTERM, None)  # the first one counts
            done.append("written")
    assert done == ["written"] and info.value.signum == signal.SIGINT
    with signals.held():  # and it is raised once only
        pass
    with pytest.raises(Interrupted):
        signals.handle(signal.SIGINT, None)  # outside a held block: at once


def test_outside_the_main_thread_the_handlers_are_left_alone():
    before = signal.getsignal(signal.SIGINT)
    seen = []

    def work():
        with caught_signals() as signals:
            seen.append(signal.getsignal(signal.SIGINT))
            with signals.held():
                seen.append("held")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [before, "held"]
