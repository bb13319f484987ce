"""Periodic neighbour graphs.

* :func:`gdynet.graphs.neighbors.neighbors` -- the ``m`` nearest periodic neighbours (one frame or many);
* :func:`gdynet.graphs.store.build_graphs` / :class:`GraphStore` -- a whole trajectory, memory-mapped
  on disk and cached: the ``M + 2`` nearest for a model of M neighbours;
* :mod:`gdynet.graphs.shells` -- the smooth M-th shell (tied neighbours treated alike) and tie counts.

(``neighbors`` is exported as ``gdynet.neighbors``; it is not re-exported here so that the module
``gdynet.graphs.neighbors`` is not shadowed by the function of the same name.)

May import: ``gdynet.base``, ``gdynet.files``, ``gdynet.trajectory``.
"""
from .store import GraphStore, build_graphs

__all__ = ["build_graphs", "GraphStore"]
