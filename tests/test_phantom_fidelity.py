"benchmarks/phantom_fidelity.py on a few films: the features, the two-sample part end to end, the JSON merge."
import importlib.util, json, os, sys

import numpy as np
import pytest

from conftest import ROOT


def load_benchmark(name):
    "benchmarks/<name>.py as a module."
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fidelity():
    return load_benchmark("phantom_fidelity")


def test_phantom_films_are_squashed_like_rsna_lowres_and_featurised(fidelity):
    films, labels = fidelity.phantom_films(3)
    assert films.shape == (3, 100, 100) and films.dtype == np.uint8 and list(labels.columns) == ["id", "boneage", "male"]
    x = fidelity.features(films)
    assert x.shape == (3, 32 * 32 + 16) and 0 <= x.min() and x.max() <= 1
    np.testing.assert_allclose(x[:, -16:].sum(1), 1.0)
    pre = fidelity.preprocessed(films[:2])                       # the pipeline's preprocessing, its cache encoding
    assert pre.shape == (2, 128, 128) and pre.raw.dtype == np.uint16


def test_two_sample_part_writes_its_json_and_keeps_the_other_part(fidelity, shared_data, tmp_path, monkeypatch, capsys):
    out = tmp_path / "fidelity.json"
    out.write_text(json.dumps({"sim2real": {"kept": True}}))
    monkeypatch.setattr(sys, "argv", ["phantom_fidelity.py", "--n", "20", "--out", str(out)])
    fidelity.main()
    d = json.loads(out.read_text())
    assert d["sim2real"] == {"kept": True}
    r = d["two_sample"]
    assert r["n_phantom"] == r["n_real"] == 20 and r["phantom_seed"] == 7 and r["real_split"] == "train"
    for name, target in (("logistic", 0.70), ("boosting", 0.80)):
        a = r["accuracy"][name]
        assert 0 <= a["mean"] <= 1 and a["target"] == target and a["met"] == (a["mean"] <= target)
    assert len(r["mean_histogram"]["phantom"]) == len(r["mean_histogram"]["real"]) == 16
    assert "logistic" in capsys.readouterr().out


def test_real_labels_never_include_the_test_split(fidelity, shared_data):
    assert set(fidelity.real_labels(shared_data / "rsna-lowres").split) == {"train", "val"}


def test_films_are_squashed_by_nearest_neighbour_as_rsna_lowres_was(fidelity):
    "rsna-lowres came from PIL's old default (nearest): a black-and-white film stays black and white, never averaged."
    from boneage.data import squash_like_lowres
    assert fidelity.squash_like_lowres is squash_like_lowres          # the benchmark squashes with the library's function
    film = (np.random.default_rng(0).random((512, 420)) > 0.5).astype(np.uint8) * 255
    out = squash_like_lowres(film)
    assert out.shape == (100, 100) and set(np.unique(out)) == {0, 255}


@pytest.fixture(scope="module")
def pose_fit():
    "benchmarks/phantom_pose_fit.py as a module (it pins BLAS threads to one on import: undone after)."
    env, path = dict(os.environ), list(sys.path)
    sys.path.insert(0, str(ROOT / "benchmarks"))       # it imports the fidelity benchmark beside it
    yield load_benchmark("phantom_pose_fit")
    os.environ.clear(); os.environ.update(env)
    sys.path[:] = path


def test_pose_is_what_the_committed_fit_found(pose_fit):
    """boneage.phantom.POSE is the adopted round of benchmarks/phantom_pose_fit.json rounded to 3 decimals, plus its hand
    edits and the entries measured on the fitting films (`--markers`)."""
    from boneage.phantom import POSE
    record = json.loads((ROOT / "benchmarks" / "phantom_pose_fit.json").read_text())
    added = {**pose_fit.ADDED_SINCE_MOMENTS, **pose_fit.ADDED_FOR_WHITENED} if record["adopted"] == "moments" else {}
    fitted = {**record[record["adopted"]]["fitted"], **added}
    fitted.update({k: v["value"] for k, v in record.get("set_by_hand", {}).items()})    # each with its reason
    fitted.update(pose_fit.measured(record))
    assert list(fitted) == list(POSE)
    for key, value in fitted.items():
        np.testing.assert_allclose(np.round(value, 3), POSE[key], atol=1e-9, err_msg=key)


def _unmeasured(pose_fit, pose) -> dict:
    "A round's start less the measured entries (a rerun starts with them as the JSON has them now), as JSON has it."
    return json.loads(json.dumps({k: v for k, v in pose.items() if k not in pose_fit.MEASURED}))


def test_the_critic_round_starts_where_the_moments_round_ended(pose_fit):
    record = json.loads((ROOT / "benchmarks" / "phantom_pose_fit.json").read_text())
    start = {**pose_fit.round_pose(record["moments"]["fitted"]), **pose_fit.ADDED_SINCE_MOMENTS}
    rerun, _ = pose_fit.round_start("critic", record)
    assert _unmeasured(pose_fit, record["critic"]["start"]) == _unmeasured(pose_fit, start) == _unmeasured(pose_fit, rerun)
    assert {k: rerun[k] for k in pose_fit.MEASURED} == pose_fit.measured(record)
    assert record["critic"]["steps"][-1]["objective"] < record["critic"]["steps"][0]["objective"]


def test_critic_loss_is_low_for_films_it_tells_apart_and_near_chance_for_the_same_films(pose_fit, monkeypatch):
    rng = np.random.default_rng(0)
    real = (rng.random((300, 100, 100)) * 120).astype(np.uint8)
    monkeypatch.setattr(pose_fit, "phantoms", lambda n: (rng.random((n, 100, 100)) * 120).astype(np.uint8))
    same = pose_fit.minus_critic_log_loss(pose_fit.critic_features(real), n=100)
    monkeypatch.setattr(pose_fit, "phantoms", lambda n: (rng.random((n, 100, 100)) * 120 + 100).astype(np.uint8))
    apart = pose_fit.minus_critic_log_loss(pose_fit.critic_features(real), n=100)
    chance = -(0.25 * np.log(4) + 0.75 * np.log(4 / 3))          # log-loss of predicting the 1:3 prior
    assert apart > -0.05 and apart > same                          # near 0: told apart
    assert same < chance + 0.05                                    # at least chance's log-loss: not told apart


def test_baseline_runs_the_same_test_on_an_earlier_commits_phantom(fidelity, shared_data, tmp_path, monkeypatch):
    "--baseline COMMIT: the child run measures that commit's boneage/phantom.py (its hash), the commit resolved."
    import subprocess
    out = tmp_path / "fidelity.json"
    monkeypatch.setattr(sys, "argv", ["phantom_fidelity.py", "--n", "20", "--baseline", "HEAD~1", "--out", str(out)])
    fidelity.main()
    d = json.loads(out.read_text())
    head1 = subprocess.run(["git", "rev-parse", "HEAD~1"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert d["baseline"]["commit"] == head1 and d["baseline"]["n_phantom"] == 20
    assert set(d["baseline"]["accuracy"]) == {"logistic", "boosting"}
    import hashlib
    old = subprocess.run(["git", "show", "HEAD~1:boneage/phantom.py"], cwd=ROOT, capture_output=True, check=True).stdout
    assert d["baseline"]["phantom_py_sha256"] == hashlib.sha256(old).hexdigest()[:16]


def test_check_judges_a_hand_edit_and_leaves_pose_as_it_was(pose_fit, monkeypatch):
    import boneage.phantom as ph
    before = dict(ph.POSE)
    monkeypatch.setattr(pose_fit, "phantoms", lambda n: np.full((n, 100, 100), int(ph.POSE["finger_width"] * 100), np.uint8))
    monkeypatch.setattr(pose_fit, "logistic_accuracy", lambda films, real: films.mean() / 1000)
    out = pose_fit.check(np.zeros((4, 100, 100), np.uint8), {"finger_width": 0.5}, n=3)
    assert out["before"]["balanced_accuracy"] == round(int(before["finger_width"] * 100) / 1000, 4)
    assert out["after"]["balanced_accuracy"] == 0.05 and out["after"]["grid"] == [[50.0] * 4] * 4
    assert out["real_grid"] == [[0.0] * 4] * 4
    assert ph.POSE == before
    with pytest.raises(SystemExit, match="finger_widht"):
        pose_fit.check(None, {"finger_widht": 0.5})


def test_mean_thumbnail_puts_the_brightness_where_it_lies(fidelity):
    films = np.zeros((3, 100, 100), np.uint8)
    films[:, 50:75, 25:50] = 200                       # third row, second column of the 4 x 4 grid
    grid = np.array(fidelity.mean_thumbnail(films))
    assert grid.shape == (4, 4) and grid[2, 1] == 200 and grid.sum() == 200


def test_whitened_distance_is_zero_for_the_real_films_and_weighs_a_shift_by_the_real_films_spread(pose_fit, monkeypatch):
    "The whitened round's objective: 0 when the phantoms are the real films; a shift where real films hardly vary costs far more."
    rng = np.random.default_rng(0)
    real = np.full((400, 100, 100), 60.0)
    real[:, :50] += rng.normal(0, 40, (400, 1, 1))            # top half: its brightness varies a lot from film to film
    real[:, 50:] += rng.normal(0, 2, (400, 1, 1))             # bottom half: hardly at all
    real = np.clip(real, 0, 255).astype(np.uint8)
    objective = pose_fit.whitened_distance(pose_fit.critic_features(real))
    monkeypatch.setattr(pose_fit, "phantoms", lambda n: real)
    assert objective() == pytest.approx(0.0, abs=1e-9)
    shifted = {}
    for half, rows in (("varied", slice(0, 50)), ("steady", slice(50, 100))):
        films = real.astype(int); films[:, rows] += 8
        monkeypatch.setattr(pose_fit, "phantoms", lambda n, f=np.clip(films, 0, 255).astype(np.uint8): f)
        shifted[half] = objective()
    assert shifted["steady"] > 10 * shifted["varied"] > 0


def test_the_whitened_round_starts_from_pose_as_the_library_held_it(pose_fit):
    "The adopted moments round rounded, the entries added since, the hand edits (which it never moves): POSE at its start."
    record = json.loads((ROOT / "benchmarks" / "phantom_pose_fit.json").read_text())
    w = record["whitened"]
    held = {**pose_fit.round_pose(record["moments"]["fitted"]), **pose_fit.ADDED_SINCE_MOMENTS,
            **{k: v["value"] for k, v in record["set_by_hand"].items()}, **pose_fit.ADDED_FOR_WHITENED}
    rerun, _ = pose_fit.round_start("whitened", record)
    assert _unmeasured(pose_fit, w["start"]) == _unmeasured(pose_fit, held) == _unmeasured(pose_fit, rerun)
    if record["adopted"] == "moments":      # but for the entries set from measurements since
        import boneage.phantom as ph
        assert _unmeasured(pose_fit, w["start"]) == _unmeasured(pose_fit, ph.POSE) and rerun == ph.POSE
    assert all(s["key"] not in record["set_by_hand"] for s in w["steps"])
    assert w["steps"][-1]["objective"] < w["steps"][0]["objective"]


def test_mean_matching_removes_a_difference_of_means_and_boosting_still_sees_one_of_spread(pose_fit):
    "`--where`'s scores: films apart by their mean fall to chance once matched; films apart by their spread stay apart for boosting."
    rng = np.random.default_rng(0)
    real = rng.normal(0.0, 1.0, (200, 6))
    offset = rng.normal(0.0, 1.0, (200, 6)) + [2.0, 0, 0, 0, 0, 0]
    assert pose_fit._scores(offset, real)["balanced_accuracy"] > 0.8 and pose_fit._scores(offset, real)["auc"] > 0.9
    matched = pose_fit._scores(offset, real, mean_matched=True)
    assert abs(matched["balanced_accuracy"] - 0.5) < 0.1 and abs(matched["auc"] - 0.5) < 0.1
    spread = rng.normal(0.0, 1.0, (200, 6)) * [4.0, 1, 1, 1, 1, 1]
    assert pose_fit._scores(spread, real, "logistic", mean_matched=True)["auc"] < 0.65     # linear: blind to spread
    assert pose_fit._scores(spread, real, "boosting", mean_matched=True)["auc"] > 0.75


def test_marker_placement_finds_a_letter_beside_the_forearm_and_not_the_hand(pose_fit):
    "`--markers`' measure: a small saturated blob in a side third counts, by side and height; the bright hand in the middle does not."
    film = np.full((100, 100), 20, np.uint8)
    film[20:90, 35:65] = 255                                    # a bright hand and forearm in the middle third
    film[70:78, 10:13] = 255; film[75:78, 10:16] = 255          # an L beside the forearm, on the left
    blobs = pose_fit.side_blobs(film)
    assert len(blobs) == 1 and blobs[0, 0] < 0.2 and blobs[0, 1] > 0.7
    top_right = np.full((100, 100), 20, np.uint8); top_right[5:12, 85:90] = 250
    plain = np.full((100, 100), 20, np.uint8)
    m = pose_fit.marker_placement(np.stack([film, film, top_right, plain]))
    assert m["with_blobs"] == 0.75 and m["left"] == round(2 / 3, 3) and m["low"] == round(2 / 3, 3)
    assert pose_fit.marker_placement(np.stack([plain]))["with_blobs"] == 0.0


def test_a_search_never_moves_a_hand_edit_or_a_measured_entry_and_needs_the_measurements(pose_fit):
    record = json.loads((ROOT / "benchmarks" / "phantom_pose_fit.json").read_text())
    for objective in ("critic", "whitened"):
        start, _ = pose_fit.round_start(objective, record)
        keys = pose_fit.search_keys(objective, start, record)
        assert keys and not set(keys) & (set(pose_fit.MEASURED) | set(record["set_by_hand"]))
    assert pose_fit.search_keys("moments", {}, record) == list(pose_fit.START)
    with pytest.raises(SystemExit, match="--markers"):
        pose_fit.round_start("moments", {})


def test_flat_noise_rises_with_the_noise_and_ignores_edges(pose_fit):
    rng = np.random.default_rng(0)
    edges = np.full((100, 100), 60, np.uint8); edges[:, 50:] = 160; edges[30:60, 20:40] = 220
    noisy = lambda sd: np.clip(edges + rng.normal(0, sd, edges.shape), 0, 255).astype(np.uint8)
    assert pose_fit.flat_noise(edges) == 0.0
    assert 0 < pose_fit.flat_noise(noisy(1.0)) < pose_fit.flat_noise(noisy(3.0)) < pose_fit.flat_noise(noisy(9.0))
    assert np.isnan(pose_fit.flat_noise(np.zeros((100, 100), np.uint8)))          # all black: nothing to measure
    assert pose_fit.noise_levels([edges, noisy(3.0)])[-1] > 0


def test_the_renderer_takes_its_detector_noise_from_pose(pose_fit, monkeypatch):
    import boneage.phantom as ph
    from boneage.data import squash_like_lowres
    def noise(sd):
        monkeypatch.setitem(ph.POSE, "detector_noise", (sd, sd)); monkeypatch.setitem(ph.POSE, "photons", (1e7, 1e7))
        # the median film: a film whose flattest part is bone texture measures high however clean it is
        return np.nanmedian([pose_fit.flat_noise(squash_like_lowres(ph.make_phantom(7, i, ph.RenderConfig(size=256))[0])) for i in range(8)])
    quiet, loud = noise(0.0), noise(0.03)
    assert quiet < 0.5 and loud > 3 * quiet


def test_row_centres_and_the_centre_shift_find_where_the_hand_lies(pose_fit, monkeypatch):
    "`--centre`: a bright bar at 30 % of the width is found there; phantoms 10 points right of real films give a shift of -0.1."
    import boneage.phantom as ph
    def bars(x):
        f = np.full((40, 100), 20, np.uint8); f[:, x - 3:x + 3] = 200
        return np.stack([f, f])
    assert np.allclose(pose_fit.row_centres(bars(30)), 0.3, atol=0.01)
    monkeypatch.setattr(pose_fit, "phantoms", lambda n: bars(40 if ph.POSE["centre_x"] == (0.5, 0.6) else 90))
    held = ph.POSE["centre_x"]
    m = pose_fit.centre_shift(bars(30), {"adopted": "moments", "moments": {"fitted": {"centre_x": [0.5, 0.6]}}})
    assert m["shift"] == -0.1 and m["set"] == [0.4, 0.5] and ph.POSE["centre_x"] == held   # rendered at the fitted range


def test_the_aspect_fit_widens_the_phantoms_hands_to_the_real_films_and_markers_do_not_count(pose_fit, monkeypatch):
    "`--aspect`: real hands 1.2 times as wide as the phantoms' drawn with the old range give that range / 1.2."
    import boneage.phantom as ph
    def bars(half, n=2):
        f = np.full((40, 100), 20, np.uint8); f[:, 50 - half:50 + half] = 180
        return np.stack([f] * n)
    monkeypatch.setattr(pose_fit, "phantoms", lambda n: bars(10 if ph.POSE["aspect"] == pose_fit.RENDERER_ASPECT else 30))
    held = ph.POSE["aspect"]
    a = pose_fit.aspect_fit(bars(12))
    assert abs(a["ratio"] - 1.2) < 0.005 and a["fitted"] == [0.6, round(0.92 / 1.2, 2)] and ph.POSE["aspect"] == held
    marked = bars(12); marked[:, 30:36, 5:8] = 255                          # a lead letter on the left
    assert pose_fit.row_centres(marked) == pose_fit.row_centres(bars(12))
    assert pose_fit.row_spreads(marked) == pose_fit.row_spreads(bars(12))
