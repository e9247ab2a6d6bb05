"""The phantom beside real films: figures/phantom_vs_real.png, the README's top figure.

Phantoms at the grid's skeletal ages for both sexes, each beside the raw RSNA film (../shared/data/rsna-hires)
of the nearest bone age and the same sex. The phantom stage draws phantoms only, so that what it writes does
not depend on whether a machine has the shared data; this script draws the comparison where it does.
Run: python benchmarks/phantom_real.py
"""
import sys
from pathlib import Path

from boneage.core import shared_data_dir
from boneage.phantom import phantom_grid


def main():
    shared = shared_data_dir(Path(__file__).parent)
    if shared is None: sys.exit("benchmarks/phantom_real.py: ../shared/data is not on this machine")
    out = phantom_grid(Path(__file__).parents[1] / "figures" / "phantom_vs_real.png", size=512, seed=42, real_dir=shared / "rsna-hires")
    print("figure:", out)


if __name__ == "__main__":
    main()
