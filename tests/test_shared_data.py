"Real RSNA data from ../shared (skipped when absent): the loader and validator hold on real files."
import shutil

import pandas as pd

from boneage.data import build_manifest, validate_dataset
from boneage.images import read_image


def test_rsna_lowres_sample_validates_and_keeps_its_split(shared_data, tmp_path):
    src = shared_data / "rsna-lowres"
    lab = pd.read_csv(src / "labels.csv")
    sample = lab.groupby("split").head(40)
    (tmp_path / "images").mkdir()
    for i in sample.id: shutil.copy(src / "images" / f"{i}.png", tmp_path / "images")
    sample.to_csv(tmp_path / "labels.csv", index=False)
    v = validate_dataset(tmp_path, progress=False)
    assert len(v.valid) == len(sample) and not v.report.rows
    m = build_manifest(v, root=tmp_path)
    assert (m.set_index("id").split.sort_index().to_dict()
            == sample.astype({"id": str}).set_index("id").split.sort_index().to_dict())


def test_rsna_hires_raw_films_read_as_grey(shared_data):
    lab = pd.read_csv(shared_data / "rsna-hires" / "labels.csv")
    for i in lab[lab.registered == 0].id.head(5):
        img, notes = read_image(shared_data / "rsna-hires" / "images" / f"{i}.png")
        assert img.ndim == 2 and 0 <= img.min() < img.max() <= 1 and max(img.shape) >= 512
