"The phantom stage on smoke settings: its figures and the maturity checks it returns."
from boneage.core import Paths
from boneage.phantom import PhantomConfig, run_phantom


def test_phantom_stage_draws_its_figures_and_checks_maturity(tmp_path):
    details = run_phantom(PhantomConfig(grid_size=128), Paths(tmp_path), progress=False)
    assert details["girls"]["carpals_at_19y"] == 8 and details["girls"]["plates_fused_at_19y"] == 1.0
    assert 0 <= details["boys"]["carpals_at_2y"] <= 3          # at 2 years only capitate and hamate, maybe the triquetrum
    for name in ("phantom_grid.png", "phantom_maturity.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 10_000
