"""``gdynet demo``: the paper's toy result on a fresh install.

Li hops between tetrahedral and octahedral sites of a frozen FCC S lattice. GDyNet (local, graph
based) should find the two site types and one relaxation timescale that stays flat across lags;
the global VAMPnet on the same coordinates sees every site as different and learns a slower,
lag-dependent global process. Both are compared with the geometric ground truth.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import typer

from ..files import writes
from ..runs.fit import FitOptions, fit
from ..analysis.matching import agreement_percent
from ..trajectory.read_options import ReadOptions


@dataclass(frozen=True)
class DemoSize:
    """How much toy data the demo makes and how long it trains."""

    n_trajectories: int
    n_test: int          # of them held out whole (``--test``): every analysis uses only these
    n_frames: int
    epochs: int
    lag: str
    lags: tuple[str, ...]


FULL = DemoSize(n_trajectories=16, n_test=4, n_frames=8_000, epochs=6, lag="2ps",
                lags=("0.5ps", "1ps", "2ps", "5ps", "10ps"))
QUICK = DemoSize(n_trajectories=4, n_test=1, n_frames=2_000, epochs=2, lag="2ps", lags=("1ps", "2ps", "5ps"))


def run_demo(out: str | Path = "gdynet-demo", *, quick: bool = False, device: str = "auto",
             progress: bool = True, size: DemoSize | None = None) -> dict[str, Any]:
    """Generate toy data, fit GDyNet and the global VAMPnet, compare both with the geometric truth.

    As in the paper, the last ``size.n_test`` trajectories are never trained on: the Koopman
    analysis, the agreement with the geometric sites and the geometric reference all use only them.
    Writes ``out/data`` (npz trajectories, labels), ``out/gdynet`` and ``out/vampnet`` (two full
    ``gdynet fit`` run folders), and ``out/demo.json`` + ``out/demo.md``; prints the comparison table.
    """
    from ..datasets.toy import reference_timescale, toy_li_fcc, write_npz

    size = size or (QUICK if quick else FULL)
    out = Path(out)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    toy = toy_li_fcc(n_trajectories=size.n_trajectories, n_frames=size.n_frames, seed=0, progress=progress)
    paths = []
    for i, traj in enumerate(toy.trajectories):
        path = data / f"toy_{i:02d}.npz"
        if not path.exists():
            writes.atomic_write(path, lambda tmp, t=traj: write_npz(t, tmp))
        paths.append(path)
    dt = toy.trajectories[0].dt_ps
    read = ReadOptions(dt=dt)
    results: dict[str, Any] = {"size": size.__dict__, "toy": toy.params}
    train, test = paths[:-size.n_test], paths[-size.n_test:]
    held_out = range(len(train), len(paths))
    for kind in ("gdynet", "vampnet"):
        options = FitOptions(model=kind, n_states=2, lag=size.lag, epochs=size.epochs, device=device, batch_size=512,
                             neighbors=12)     # M = 12 as the paper's toy
        analysis = {"lags": list(size.lags), "temperature_K": toy.params["temperature_K"], "charges": [1.0]}  # Li+
        summary = fit(train, out / kind, read, options, test_paths=test, analysis=analysis, progress=progress)
        chi = [np.load(out / kind / "chi" / f"traj_{i:03d}.npy", mmap_mode="r") for i in held_out]
        results[kind] = {"agreement_percent": agreement_percent(chi, [toy.labels[i] for i in held_out]),
                         "timescale_ps": summary["timescales_ps"][0], "vamp2": summary["vamp2"],
                         "its_lags_ps": summary["implied_timescales"]["lags_ps"],
                         "its_ps": [row[0] for row in summary["implied_timescales"]["timescales_ps"]],
                         "its_lower_ps": [row[0] for row in summary["implied_timescales"]["lower_ps"]],
                         "its_upper_ps": [row[0] for row in summary["implied_timescales"]["upper_ps"]],
                         "ck_fraction_consistent": summary["ck_test"]["fraction_consistent"],
                         "populations": summary["populations"], "populations_ci": summary["populations_ci"]}
    lags_ps = results["gdynet"]["its_lags_ps"]
    ref = reference_timescale([toy.trajectories[i] for i in held_out], lags_ps=lags_ps)
    results["geometric"] = {"its_lags_ps": list(lags_ps), "its_ps": ref.timescales_ps.tolist(),
                            "timescale_ps": ref.timescale_ps, "populations": ref.populations.tolist(),
                            "n_transitions": ref.n_transitions}
    writes.write_json(out / "demo.json", results)
    save_comparison(results, out / "demo_timescales")
    table = demo_table(results)
    writes.write_text(out / "demo.md", table)
    _print(results)
    return results


def save_comparison(results: dict[str, Any], stem: Path) -> tuple[Path, Path]:
    """Slowest timescale vs lag for GDyNet (with 95 % CI), the global VAMPnet and the geometric truth."""
    from matplotlib.figure import Figure

    from ..report.figures import save_figure

    fig = Figure(figsize=(5.2, 3.8))
    ax = fig.add_subplot()
    styles = {"gdynet": ("GDyNet (local)", "tab:blue", "o-"), "vampnet": ("global VAMPnet", "tab:red", "s-"),
              "geometric": ("geometric site labels", "k", "--")}
    for kind, (label, color, style) in styles.items():
        r = results[kind]
        lags = np.asarray(r["its_lags_ps"], dtype=float)
        ax.plot(lags, np.asarray(r["its_ps"], dtype=float), style, color=color, label=label, ms=4)
        if r.get("its_lower_ps"):
            lower = np.asarray([np.nan if v is None else v for v in r["its_lower_ps"]], dtype=float)
            upper = np.asarray([np.nan if v is None else v for v in r["its_upper_ps"]], dtype=float)
            ax.fill_between(lags, lower, upper, color=color, alpha=0.15, lw=0)
    lags = np.asarray(results["geometric"]["its_lags_ps"], dtype=float)
    ax.fill_between(lags, lags, lags.min() * 0 + 1e-3, color="0.85", lw=0)
    ax.plot(lags, lags, color="0.5", lw=1, label="t = τ")
    ax.set(xscale="log", yscale="log", xlabel="lag time τ (ps)", ylabel="slowest relaxation timescale t₁ (ps)",
           ylim=(lags.min() * 0.5, None), title="Li in FCC S: local vs global dynamics")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return save_figure(fig, stem)


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3g}"


def demo_table(results: dict[str, Any]) -> str:
    """The comparison as a Markdown table (also written to ``demo.md``)."""
    lags = results["geometric"]["its_lags_ps"]
    head = "| | agreement with geometric sites | " + " | ".join(f"t₁ at τ={l:g} ps" for l in lags) + " |"
    lines = [head, "|" + "---|" * (len(lags) + 2)]
    names = {"gdynet": "GDyNet (local)", "vampnet": "global VAMPnet", "geometric": "geometric truth"}
    for kind in ("gdynet", "vampnet", "geometric"):
        r = results[kind]
        agree = f"{r['agreement_percent']:.1f} %" if "agreement_percent" in r else "100 % (by definition)"
        cells = []
        for i, t in enumerate(r["its_ps"]):
            lo, hi = (r.get("its_lower_ps") or [None] * len(lags))[i], (r.get("its_upper_ps") or [None] * len(lags))[i]
            cells.append(f"{_fmt(t)} ps" + (f" [{_fmt(lo)}, {_fmt(hi)}]" if lo is not None or hi is not None else ""))
        lines.append(f"| {names[kind]} | {agree} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nt₁: slowest relaxation timescale (Eq. 11), 95 % confidence interval in brackets.\n"


def _print(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    lags = results["geometric"]["its_lags_ps"]
    table = Table(title="gdynet demo: Li in FCC S (slowest timescale t₁ in ps at each lag τ)")
    table.add_column("model")
    table.add_column("agreement")
    for lag in lags:
        table.add_column(f"τ={lag:g} ps", justify="right")
    for kind, name in (("gdynet", "GDyNet"), ("vampnet", "global VAMPnet"), ("geometric", "geometric truth")):
        r = results[kind]
        agree = f"{r['agreement_percent']:.1f} %" if "agreement_percent" in r else "—"
        table.add_row(name, agree, *[_fmt(t) for t in r["its_ps"]])
    Console().print(table)


def demo(
    out: Path = typer.Option(Path("gdynet-demo"), "--out", "-o", help="Folder for data, both runs and the comparison."),
    quick: bool = typer.Option(False, help="A much smaller run (about a minute), for smoke tests."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Toy Li in FCC S: fit GDyNet and the global VAMPnet, compare with the geometric truth."""
    run_demo(out, quick=quick, device=device, progress=not quiet)
