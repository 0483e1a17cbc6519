# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cycle_collector_paused: no cyclic collection inside the block, the collector as it was after it, and a cycle
made inside is still collected."""

from __future__ import annotations

import gc
import weakref

import pytest

from ansible_collections.tlsops.handshake.plugins.module_utils._common.heap import cycle_collector_paused


class Node(object):
    pass


@pytest.fixture
def collector_enabled():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_inside_and_back_on_after(collector_enabled):
    with cycle_collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(collector_enabled):
    gc.disable()
    with cycle_collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_the_collector_comes_back_when_the_block_raises(collector_enabled):
    with pytest.raises(KeyError):
        with cycle_collector_paused():
            raise KeyError("x")
    assert gc.isenabled()


def test_a_cycle_made_inside_is_collected_after(collector_enabled):
    with cycle_collector_paused():
        node = Node()
        node.self = node
        alive = weakref.ref(node)
        del node
        made = [[] for _item in range(300000)]      # far more containers than a collection waits for
        del made
        assert alive() is not None
    gc.collect()
    assert alive() is None
