"""Periodic neighbour graphs: ``neighbors`` (one frame or many) and ``build_graphs`` / ``GraphStore``
(a whole trajectory, memory-mapped on disk and cached)."""
from .neighbors import neighbors
from .store import GraphStore, build_graphs

__all__ = ["neighbors", "build_graphs", "GraphStore"]
