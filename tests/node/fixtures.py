"""pytest fixtures for node tests: import them with ``from node.fixtures import *`` in a conftest or test module.

Every node test is put in one xdist group per node kind so that a single anvil / bitcoind serves them.
"""

from __future__ import annotations

import pytest

from .anvil import Anvil
from .evm_world import World, build

__all__ = ["anvil", "evm_world", "bitcoind"]


@pytest.fixture(scope="session")
def anvil():
    """A session-wide anvil with the test world built on it (tests must not mine on it: use fresh_anvil)."""
    node = Anvil()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def evm_world(anvil) -> World:
    return build(anvil.eth, anvil.accounts)


@pytest.fixture(scope="session")
def bitcoind():
    from .bitcoind import Bitcoind

    node = Bitcoind()
    yield node
    node.stop()
