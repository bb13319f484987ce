"""The melting point of the Cu slab + melt at constant volume, from two-phase NVE runs.

    nice -n 5 python benchmarks/interface_melting.py --temperatures 1290 1310 1330 --out docs/interface_melting

For each equilibration temperature the interface example's system
(:data:`gdynet.commands.example_interface.FULL`, shorter production) is built and run with
:func:`gdynet.datasets.interface.generate_interface` (cached like the example). In the NVE production
the latent heat moves the temperature to the melting point at that density while the solid fraction
(q6 solid-bond labels) adjusts; runs that keep both phases agree on the temperature. Prints the mean
production temperature, the solid fraction and its drift per 10 ps, and writes ``<out>.png`` / ``.svg``.
"""
from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from gdynet.datasets.interface import generate_interface, solid_fraction
from gdynet.commands.example_interface import FULL
from gdynet.report.figures import save_figure, state_color


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--temperatures", type=float, nargs="+", default=[1290, 1310, 1330])
    parser.add_argument("--production-ps", type=float, default=30.0)
    parser.add_argument("--out", default="interface_melting")
    args = parser.parse_args()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 3.2))
    ax = fig.add_subplot()
    print("| equilibrated at (K) | NVE production T (K) | solid fraction, first 2 ps | last 2 ps | drift per 10 ps |\n"
          "|---|---|---|---|---|")
    for i, T in enumerate(sorted(args.temperatures)):
        params = replace(FULL.params, temperature_K=T, production_ps=args.production_ps)
        data = generate_interface(params)
        f = solid_fraction(np.concatenate([data.solid("train"), data.solid("test")]))
        t = np.arange(len(f)) * params.frame_ps
        n = max(1, round(2.0 / params.frame_ps))
        temps = np.concatenate([data.temperature("train"), data.temperature("test")])
        print(f"| {T:g} | {temps.mean():.0f} ± {temps.std():.0f} | {f[:n].mean():.3f} | {f[-n:].mean():.3f} | "
              f"{10 * np.polyfit(t, f, 1)[0]:+.3f} |")
        ax.plot(t, f, color=state_color(i), lw=1, label=f"from {T:g} K: NVE at {temps.mean():.0f} K")
    ax.set(xlabel="production time (ps)", ylabel="solid fraction (q6 bonds)", ylim=(0, 1),
           title="Cu slab + melt at constant volume")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    print(save_figure(fig, args.out)[0])


if __name__ == "__main__":
    main()
