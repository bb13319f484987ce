"""Training throughput of GDyNet vs a PyTorch Geometric edge-list implementation of the same model.

One training step = forward of 2B frames (the t and t + tau frames of B time-lagged pairs), VAMP-2
loss over the B*n target pairs, backward (no optimiser update). Throughput = target pairs per second.

Systems (CPU, float32):
  small: the paper's toy cell, 1 Li + 4 S (fcc, a = 6.5 Å), M = 12, 1 target (Li), B = 16 pairs
         (the original code's batch size; per-operation overhead dominates) and B = 256 pairs
  large: 2,000 atoms in a 34.2 Å cubic box (0.05 atoms/Å^3, random), M = 20, 100 single-atom
         targets, B = 4 pairs
Implementations (identical weights, outputs checked equal before timing):
  gdynet      gdynet.network.GDyNet (dense (B, N, M) layout, split weights, K-hop pruning)
  gdynet-full the same with pruning switched off (every layer updates every atom)
  pyg         torch_geometric MessagePassing over an edge_index of B*N*M edges, z = [x_i, x_j, u]
              concatenated per edge, torch_geometric.utils.softmax over each atom's edges, sum aggr.

Run:  OMP_NUM_THREADS=2 python benchmarks/bench_model.py [--threads 2] [--seconds 6]
"""
from __future__ import annotations

import argparse
import platform
import time
import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import softmax as edge_softmax
from vesin import NeighborList

import gdynet.network.gdynet as gdynet_module
from gdynet.graphs.shells import graph_width
from gdynet.network import GDyNet
from gdynet.network.shell import shell_weights
from gdynet.network.layers import ACTIVATIONS, GaussianExpansion, mlp
from gdynet.training.vamp import vamp_score


def knn_graphs(positions: np.ndarray, box: np.ndarray, m: int, cutoff: float) -> tuple[Tensor, Tensor]:
    """(F, N, 3) positions in a fixed box -> M nearest neighbours (F, N, M) via vesin + sort."""
    idx, dist = [], []
    nl = NeighborList(cutoff=cutoff, full_list=True)
    for pos in positions:
        i, j, d = nl.compute(pos, box, periodic=True, quantities="ijd")
        order = np.lexsort((d, i))
        i, j, d = i[order], j[order], d[order]
        starts = np.searchsorted(i, np.arange(len(pos)))
        take = starts[:, None] + np.arange(m)
        assert np.all(np.bincount(i, minlength=len(pos)) >= m), "cutoff too small for M neighbours"
        idx.append(j[take])
        dist.append(d[take])
    return torch.as_tensor(np.stack(idx), dtype=torch.long), torch.as_tensor(np.stack(dist), dtype=torch.float32)


def small_system(n_frames: int, rng: np.random.Generator) -> dict[str, Tensor]:
    a = 6.5
    s_sites = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]) * a
    li = rng.random((n_frames, 1, 3)) * a
    positions = np.concatenate([li, np.broadcast_to(s_sites, (n_frames, 4, 3))], axis=1)
    idx, dist = knn_graphs(positions, np.eye(3) * a, graph_width(12), 6.9)
    return {"numbers": torch.tensor([3, 16, 16, 16, 16]), "nbr_idx": idx, "nbr_dist": dist,
            "targets": torch.tensor([[0]])}


def large_system(n_frames: int, rng: np.random.Generator) -> dict[str, Tensor]:
    n, length = 2000, (2000 / 0.05) ** (1 / 3)
    base = rng.random((n, 3)) * length
    positions = (base + rng.normal(0, 0.3, (n_frames, n, 3))) % length
    idx, dist = knn_graphs(positions, np.eye(3) * length, graph_width(20), 7.3)
    numbers = torch.as_tensor(rng.choice([1, 3, 6, 8], size=n))
    targets = torch.as_tensor(rng.choice(n, size=(100, 1), replace=False))
    return {"numbers": numbers, "nbr_idx": idx, "nbr_dist": dist, "targets": targets}


class PygAttentionConv(MessagePassing):
    """Eqs. 8-9 as an edge-list message passing layer (the textbook PyG way)."""

    def __init__(self, f: int, g: int, activation: str) -> None:
        super().__init__(aggr="add")
        self.lin = nn.Linear(2 * f + g, f)
        self.att = nn.Linear(2 * f + g, 1)
        self.act = ACTIVATIONS[activation]()
        self.norm = nn.LayerNorm(f)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, log_weight: Tensor) -> Tensor:
        return x + self.norm(self.propagate(edge_index, x=x, edge_attr=edge_attr, log_weight=log_weight))

    def message(self, x_i: Tensor, x_j: Tensor, edge_attr: Tensor, log_weight: Tensor, index: Tensor,
                size_i: int) -> Tensor:
        z = torch.cat([x_i, x_j, edge_attr], dim=-1)       # attention weighted by the shell weights
        alpha = edge_softmax(self.att(z).squeeze(-1) + log_weight, index, num_nodes=size_i)
        return alpha.unsqueeze(-1) * self.act(self.lin(z))


class PygGDyNet(nn.Module):
    """The GDyNet architecture on a flattened batch graph (B*N nodes, B*N*M edges)."""

    def __init__(self, ref: GDyNet) -> None:
        super().__init__()
        c = ref.config
        self.embedding = nn.Embedding(119, c["atom_features"])
        self.expansion = GaussianExpansion(c["cutoff"], c["n_gaussians"])
        self.convs = nn.ModuleList(
            PygAttentionConv(c["atom_features"], c["n_gaussians"], c["activation"]) for _ in range(c["n_conv"])
        )
        self.head = mlp(c["atom_features"], c["hidden"], c["n_states"], c["activation"])
        self.neighbors = c["neighbors"]
        self.copy_weights(ref)

    @torch.no_grad()
    def copy_weights(self, ref: GDyNet) -> None:
        self.embedding.load_state_dict(ref.embedding.state_dict())
        self.head.load_state_dict(ref.head.state_dict())
        for mine, theirs in zip(self.convs, ref.convs):
            edge = theirs.edge_proj.linear
            w = torch.cat([theirs.self_proj.weight, theirs.nbr_proj.weight, edge.weight], dim=1)
            f = mine.lin.out_features
            mine.lin.weight.copy_(w[:f])
            mine.lin.bias.copy_(edge.bias[:f])
            mine.att.weight.copy_(w[f:])
            mine.att.bias.copy_(edge.bias[f:])
            mine.norm.load_state_dict(theirs.norm.state_dict())

    def forward(self, numbers: Tensor, nbr_idx: Tensor, nbr_dist: Tensor, targets: Tensor) -> Tensor:
        b, n, m = nbr_idx.shape
        centre = torch.arange(b * n).repeat_interleave(m)
        source = (nbr_idx + (torch.arange(b) * n).view(-1, 1, 1)).reshape(-1)
        edge_index = torch.stack([source, centre])  # messages flow j -> i
        edge_attr = self.expansion(nbr_dist.reshape(-1))
        log_weight = torch.log(shell_weights(nbr_dist, self.neighbors)).reshape(-1)
        x = self.embedding(numbers).repeat(b, 1)
        for conv in self.convs:
            x = conv(x, edge_index, edge_attr, log_weight)
        pooled = x.view(b, n, -1)[:, targets].mean(dim=2)
        return torch.softmax(self.head(pooled), dim=-1)


def train_step(model: nn.Module, inputs: dict[str, Tensor], pairs: int) -> None:
    """Forward + backward of the VAMP-2 loss; frames [0, pairs) are time t, [pairs, 2 pairs) t + tau.

    The optimiser update is left out (it is the same for every implementation).
    """
    model.zero_grad(set_to_none=True)
    out = model(**inputs)
    s = out.shape[-1]
    loss = -vamp_score(out[:pairs].reshape(-1, s), out[pairs:].reshape(-1, s))
    loss.backward()


class _NoPruning:
    """Context manager: make GDyNet update every atom in every layer (pruning switched off)."""

    def __enter__(self) -> None:
        self.saved = gdynet_module._rows_to_update
        gdynet_module._rows_to_update = lambda nbr_idx, targets, n_conv: [None] * n_conv

    def __exit__(self, *exc: object) -> None:
        gdynet_module._rows_to_update = self.saved


def run(inputs: dict[str, Tensor], pairs: int, seconds: float) -> dict[str, float]:
    """Target pairs per second of each implementation: median step time, rounds interleaved."""
    torch.manual_seed(0)
    model = GDyNet(n_states=2, neighbors=inputs["nbr_idx"].shape[-1] - 2, atom_features=16, n_conv=3)
    pyg = PygGDyNet(model)
    with torch.no_grad():
        torch.testing.assert_close(pyg(**inputs), model(**inputs), atol=1e-5, rtol=1e-4)
        with _NoPruning():
            torch.testing.assert_close(model(**inputs), pyg(**inputs), atol=1e-5, rtol=1e-4)
    gdynet_copy = GDyNet(**model.config)
    gdynet_copy.load_state_dict(model.state_dict())
    nets = {"gdynet": model, "gdynet-full": gdynet_copy, "pyg": pyg}

    def step(label: str) -> float:
        t0 = time.perf_counter()
        if label == "gdynet-full":
            with _NoPruning():
                train_step(nets[label], inputs, pairs)
        else:
            train_step(nets[label], inputs, pairs)
        return time.perf_counter() - t0

    times: dict[str, list[float]] = {k: [] for k in nets}
    for label in nets:  # warm-up
        step(label)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds * len(nets) or min(map(len, times.values())) < 3:
        for label in nets:
            times[label].append(step(label))
    target_pairs = pairs * inputs["targets"].shape[0]
    return {k: target_pairs / float(np.median(v)) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6.0, help="timing budget per implementation and system")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    small = small_system(2 * 256, rng)
    systems = [
        ("small (5 atoms, M=12, 1 target), B=16", {**small, "nbr_idx": small["nbr_idx"][:32],
                                                  "nbr_dist": small["nbr_dist"][:32]}, 16),
        ("small (5 atoms, M=12, 1 target), B=256", small, 256),
        ("large (2000 atoms, M=20, 100 targets), B=4", large_system(8, rng), 4),
    ]
    print(f"torch {torch.__version__}, {args.threads} threads, {platform.processor() or platform.machine()}")
    print("| system | gdynet (pairs/s) | gdynet, no pruning | PyG (pairs/s) | speed-up vs PyG | no pruning vs PyG |")
    print("|---|---|---|---|---|---|")
    for name, inputs, pairs in systems:
        r = run(inputs, pairs, args.seconds)
        print(f"| {name} | {r['gdynet']:.0f} | {r['gdynet-full']:.0f} | {r['pyg']:.0f} | "
              f"{r['gdynet'] / r['pyg']:.2f}x | {r['gdynet-full'] / r['pyg']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
