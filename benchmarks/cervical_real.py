"""The cervical phantom beside real cervical crops: figures/cervical_vs_real.png.

Phantom films of CS1-CS6 with their 19 landmarks (and the stage the rule reads from them) beside the two real
crops of ../shared/data/cvs-roi with their landmarks. The `cvs` stage draws figures/cervical_phantom.png with the
phantoms only, so that its output does not depend on whether the machine has ../shared.
Run: python benchmarks/cervical_real.py
"""
import sys
from pathlib import Path

from boneage.cervical import cervical_figure
from boneage.core import shared_data_dir


def main() -> int:
    if shared_data_dir() is None:
        print("cervical_real: ../shared/data is not on this machine; nothing drawn", file=sys.stderr)
        return 1
    out = Path(__file__).resolve().parents[1] / "figures" / "cervical_vs_real.png"
    cervical_figure(out, data_dir="shared")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
