"The paper stage: built from the smoke pipeline's metrics, its numbers checked against the JSONs, its prose free of typed numbers."
import json, re

import numpy as np
import pytest

from boneage.paper import NUMBER, copy_paper_inputs, markdown_to_typst, pdf_pages_text, unmatched_numbers
from boneage.readme import RENDERERS
from conftest import ROOT


@pytest.fixture(scope="module")
def smoke_paper(upstream, tmp_path_factory):
    "The paper built in the smoke root: its own stage metrics and figures, no benchmark or documented-run JSON."
    from boneage.paper import PaperConfig, run_paper
    paths = upstream("paper")
    copy_paper_inputs(ROOT, paths.root, results=False)
    return paths, run_paper(PaperConfig(page_dpi=30), paths, progress=False)


def test_the_paper_builds_from_the_smoke_metrics(smoke_paper):
    paths, d = smoke_paper
    pdf = paths.root / "paper" / "boneage.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-" and d["pages"] >= 2 and d["numbers_unmatched"] == 0
    text = "\n".join(pdf_pages_text(pdf))
    data = json.loads(paths.details("data").read_text())
    assert f"train {data['train']['n']}" in text.replace("\r\n", " ")   # the data table's first row, from this run's JSON
    # a table whose JSON this run did not write says so, and the smoke run writes no benchmark JSON
    assert "cnn_speed" in d["tables_missing"] and "Not produced in this run: benchmarks/cnn_speed.json is missing." in text
    env = json.loads((paths.root / "metrics" / "environment.json").read_text())
    assert env["packages"]["keras"] and env["cores"] >= 1 and env["python"] in text


def test_the_pages_render_to_png_to_be_looked_at(smoke_paper):
    from PIL import Image
    paths, d = smoke_paper
    pages = sorted((paths.root / "paper" / "pages").glob("page-*.png"))
    assert len(pages) == d["pages"]
    first = np.asarray(Image.open(pages[0]).convert("L"), dtype=float)
    assert first.shape[0] > first.shape[1] and first.std() > 5   # a portrait page with something printed on it


def test_every_number_of_the_committed_paper_is_in_its_json():
    "paper/boneage.pdf as committed says what the committed metrics and benchmark JSONs say."
    text = "\n".join(pdf_pages_text(ROOT / "paper" / "boneage.pdf"))
    rendered = {n: r(json.loads((ROOT / f).read_text())) for n, (f, r) in RENDERERS.items()}
    assert unmatched_numbers(rendered, text) == {}


def test_the_number_check_catches_a_stale_or_retyped_number():
    text = "\n".join(pdf_pages_text(ROOT / "paper" / "boneage.pdf"))
    f, render = RENDERERS["cnn_rsna_wide"]
    d = json.loads((ROOT / f).read_text())
    d["test"]["overall"]["mae"] += 0.37            # the metrics changed after the PDF was built
    assert "cnn_rsna_wide" in unmatched_numbers({"cnn_rsna_wide": render(d)}, text)


def test_the_handwritten_prose_types_no_number():
    "Numbers in paper/boneage.typ would escape the check above: only names with digits in them are allowed."
    source = (ROOT / "paper" / "boneage.typ").read_text()
    prose = "\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("//", "#set", "#show", "#let", "#import")))
    prose = re.sub(r'"[^"\n]*"', "", prose)                    # file and table names in calls
    prose = re.sub(r"[@<][\w.:-]+>?", "", prose)               # references and labels
    names = r"CS[1-6]|C[2-4]|ResNet-(?:50|34)|DenseNet-121|Inception-v4|InceptionResNetV2|EfficientNetV2-B0|ISBI 2015|\d+(?:\.\d+)?(?:pt|em|cm|%)"
    prose = re.sub(names, "", prose)
    assert not re.findall(r"\d", prose), [l for l in prose.splitlines() if re.search(r"\d", l)]


def test_markdown_tables_become_typst_tables_with_every_cell():
    md = RENDERERS["data"][1](json.loads((ROOT / "metrics" / "data_details.json").read_text()))
    ty = markdown_to_typst(md)
    assert ty.startswith("#table(columns: 5,") and ty.count("[#") == 5 * 5   # header and four splits, every cell
    assert sorted(NUMBER.findall(md)) == sorted(NUMBER.findall(re.sub(r"columns: \d+", "", ty)))
