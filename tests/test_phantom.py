"The phantom stage on smoke settings: its figures and the maturity checks it returns."
from boneage.core import Paths
from boneage.phantom import PhantomConfig, run_phantom


def test_phantom_stage_draws_its_figures_and_checks_maturity(tmp_path):
    details = run_phantom(PhantomConfig(grid_size=128), Paths(tmp_path), progress=False)
    assert details["girls"]["carpals_at_19y"] == 8 and details["girls"]["plates_fused_at_19y"] == 1.0
    assert 0 <= details["boys"]["carpals_at_2y"] <= 3          # at 2 years only capitate and hamate, maybe the triquetrum
    for name in ("phantom_grid.png", "phantom_maturity.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 10_000


def test_forearm_breadth_widens_the_forearms_soft_tissue_and_leaves_the_bones(monkeypatch):
    import numpy as np
    import boneage.phantom as ph
    cfg = ph.RenderConfig(size=128)
    _, bone, hand, *_ = ph.make_phantom(42, 0, cfg)
    monkeypatch.setitem(ph.POSE, "forearm_breadth", 1.3)
    _, bone_wide, hand_wide, *_ = ph.make_phantom(42, 0, cfg)
    np.testing.assert_array_equal(bone, bone_wide)
    assert (hand_wide > 0).sum() > (hand > 0).sum() and not ((hand > 0) & (hand_wide == 0)).any()
