"""Training on a shared CPU: seconds per epoch with other processes busy, with and without passive OpenMP waiting.

Usage (from the repository root; needs the interface example's dumps: `gdynet example interface --out ex`):

    python benchmarks/bench_shared_cpu.py ex/md/dump_train.lammpstrj

Runs the same 4-epoch fit (1,728-atom Cu interface, 1,353 targets, S = 4, M = 20, 4 pairs per step, 26
steps per epoch) alone and next to 1 and 2 busy-looping processes, each once with the default OpenMP
wait policy that gdynet leaves alone (``ACTIVE``: spinning, OpenMP's usual behaviour) and once with
``PASSIVE`` (what ``import gdynet`` now sets unless the user has set it); prints the seconds of each epoch.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

FIT = """
import shutil, sys
from gdynet.runs.fit import fit, FitOptions
from gdynet.trajectory.read_options import ReadOptions
read = ReadOptions(timestep="4fs", targets="select:not (prop z >= 5.530 and prop z < 15.463)")
s = fit([sys.argv[1]], sys.argv[2], read, FitOptions(n_states=4, lag="2ps", epochs=4, patience=0, batch_size=4,
        device="cpu"), analysis={"lags": ["2ps"]}, progress=False)
print(" ".join(f"{h['seconds']:.2f}" for h in s["history"]))
"""


def epochs(dump: str, env: dict[str, str]) -> str:
    with tempfile.TemporaryDirectory() as folder:
        out = subprocess.run([sys.executable, "-c", FIT, dump, os.path.join(folder, "run")], env={**os.environ, **env},
                             capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-1]


def main() -> None:
    dump = sys.argv[1]
    print("| busy processes | OMP_WAIT_POLICY | seconds per epoch |\n|---|---|---|")
    for n_busy in (0, 1, 2):
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n_busy)]
        try:
            for policy in ("ACTIVE", "PASSIVE"):
                env = {"OMP_WAIT_POLICY": policy}
                print(f"| {n_busy} | {policy} | {epochs(dump, env)} |", flush=True)
        finally:
            for hog in hogs:
                hog.kill()


if __name__ == "__main__":
    main()
