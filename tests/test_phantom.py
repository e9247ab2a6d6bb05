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


def test_the_lead_marker_lies_where_pose_puts_it(monkeypatch):
    "marker_left / marker_low move the letter between the film's sides and between beside the forearm and the top."
    import numpy as np
    import boneage.phantom as ph
    cfg, hand = ph.RenderConfig(marker_fraction=1.0), np.zeros((200, 160), np.uint8)
    def centres(left, low, n=40):
        monkeypatch.setitem(ph.POSE, "marker_left", left); monkeypatch.setitem(ph.POSE, "marker_low", low)
        out = []
        for i in range(n):
            A = np.zeros(hand.shape, np.float32)
            assert ph._lead_marker(A, hand, np.random.default_rng(i), cfg) in ("L", "R")
            ys, xs = np.nonzero(A >= 6.0)                      # the lead letter (a plate alone is fainter)
            out.append((xs.mean() / hand.shape[1], ys.mean() / hand.shape[0]))
        return np.array(out)
    low_left, top_right = centres(1.0, 1.0), centres(0.0, 0.0)
    assert (low_left[:, 0] < 0.3).all() and (low_left[:, 1] > 0.45).all()
    assert (top_right[:, 0] > 0.7).all() and (top_right[:, 1] < 0.45).all()


def test_a_marker_retry_moves_the_letter_but_never_changes_its_side(monkeypatch):
    "With the film's left half taken by the hand, a letter drawn for the left is dropped, not moved to the right."
    import numpy as np
    import boneage.phantom as ph
    monkeypatch.setitem(ph.POSE, "marker_left", 0.5)
    cfg, hand = ph.RenderConfig(marker_fraction=1.0), np.zeros((200, 160), np.uint8)
    hand[:, :80] = 1
    letters = [ph._lead_marker(np.zeros(hand.shape, np.float32), hand, np.random.default_rng(i), cfg) for i in range(200)]
    placed = np.mean([bool(x) for x in letters])
    assert 0.35 < placed < 0.65          # only the draws for the right side (half); redrawing the side would place ~all
