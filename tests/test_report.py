"""Reports: figures for every kind of fitted model, PNG files, and one HTML file
whose images are embedded, decode, are not blank, and that refers to nothing
outside itself."""

import base64
import io
import re

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

import aekit
from aekit import VAE, AnomalyDetector, Autoencoder, Imputer
from aekit.cli import main
from aekit.report import (
    Report,
    figures,
    imputation_trace,
    imputed_distributions,
    missingness_pattern,
    save_figures,
)
from aekit.report.diagnostics import TRACE_COPIES

QUICK = dict(latent_dim=2, hidden_dims=(16,), max_epochs=15)


def decoded_images(page: str) -> list[np.ndarray]:
    """Every embedded image of an HTML page, decoded to pixels."""
    blobs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    return [matplotlib.image.imread(io.BytesIO(base64.b64decode(b)), format="png") for b in blobs]


def assert_self_contained(page: str) -> None:
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert not re.search(r"(https?:)?//[\w.-]+\.\w", page.replace("<!DOCTYPE html>", ""))
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)


def assert_pictures(images: list[np.ndarray], at_least: int) -> None:
    assert len(images) >= at_least
    for img in images:
        assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50
        rgb = img[..., :3]
        assert rgb.std() > 0.02  # not blank
        assert (rgb < 0.9).mean() > 0.005  # something is drawn, not just a white page


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    n = 150
    group = rng.choice(["a", "b", "c"], n)
    shift = pd.Series(group).map({"a": -2.0, "b": 0.0, "c": 2.0}).to_numpy()
    df = pd.DataFrame(
        {
            "x": shift + rng.normal(size=n),
            "y": -shift + rng.normal(size=n),
            "z": rng.normal(size=n),
            "group": pd.Categorical(group),
        }
    )
    return df.mask(rng.random(df.shape) < 0.05)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda: Autoencoder(**QUICK, random_state=0),
            {"training", "latent_map", "reconstructions"},
        ),
        (lambda: VAE(**QUICK, random_state=0), {"training", "latent_map", "reconstructions"}),
        (
            lambda: Imputer(Autoencoder(**QUICK, noise="masking"), n_models=2, random_state=0),
            {
                "training",
                "imputation_errors",
                "latent_map",
                "reconstructions",
                "imputed_distributions",
                "missingness_pattern",
                "imputation_trace",
            },
        ),
        (
            lambda: AnomalyDetector(VAE(**QUICK), contamination=0.05, random_state=0),
            {"training", "latent_map", "reconstructions", "scores"},
        ),
    ],
)
def test_every_model_gets_its_figures_in_a_self_contained_page(tmp_path, frame, make, expected):
    model = make().fit(frame)
    assert set(figures(model, frame, labels=frame["group"])) == expected
    assert set(figures(model)) == expected & {"training", "imputation_errors"}
    path = (
        Report("a <report> & more")
        .add_model("model", model, frame, frame["group"])
        .write(tmp_path / "r.html")
    )
    page = path.read_text(encoding="utf-8")
    assert "a &lt;report&gt; &amp; more" in page  # text is escaped
    assert_self_contained(page)
    assert_pictures(decoded_images(page), len(expected))


def test_a_detector_report_skips_rows_with_nothing_observed(frame):
    det = AnomalyDetector(Autoencoder(**QUICK), contamination=0.05, random_state=0).fit(frame)
    holed = frame.copy()
    holed.iloc[0] = np.nan
    many = pd.Series([f"id{i}" for i in range(len(frame))])  # too many levels for colours
    assert "scores" in figures(det, holed, labels=many)


def test_save_figures_writes_pngs(tmp_path, frame):
    model = Autoencoder(**QUICK, random_state=0).fit(frame)
    paths = save_figures(model, tmp_path / "figs", frame)
    assert sorted(p.name for p in paths) == [
        "latent_map.png",
        "reconstructions.png",
        "training.png",
    ]
    for p in paths:
        assert_pictures([matplotlib.image.imread(p)], 1)


def test_report_refuses_what_it_cannot_draw(frame):
    with pytest.raises(aekit.AekitError, match="fitted aekit estimator"):
        figures(object())
    model = Autoencoder(**QUICK, random_state=0).fit(frame)
    with pytest.raises(aekit.AekitError, match="labels has 3 values for 150 rows"):
        figures(model, frame, labels=["a", "b", "c"])


def test_cli_report_end_to_end(tmp_path, frame, capsys):
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    model_dir = tmp_path / "model"
    assert main(["fit", str(data), "-o", str(model_dir), "--model", "ae", "-q"]) == 0
    out = tmp_path / "report.html"
    assert main(["report", str(model_dir), str(data), "-o", str(out), "--label", "group"]) == 0
    assert f"Report written to {out}" in capsys.readouterr().err
    page = out.read_text(encoding="utf-8")
    assert_self_contained(page)
    assert_pictures(decoded_images(page), 4)  # training, latent map, reconstructions, scores
    assert "anomaly threshold" in page

    only_model = tmp_path / "model-only.html"
    assert main(["report", str(model_dir), "-o", str(only_model)]) == 0
    assert len(decoded_images(only_model.read_text(encoding="utf-8"))) == 1
    capsys.readouterr()

    for args, message in [
        (["report", str(model_dir), str(data), "-o", str(out)], "exists; pass --force"),
        (["report", str(model_dir), "-o", str(tmp_path / "r.pdf")], "a report is an .html file"),
        (["report", str(model_dir), "-o", str(tmp_path / "x.html"), "--label", "g"], "needs DATA"),
        (
            ["report", str(model_dir), str(data), "-o", str(tmp_path / "y.html"), "--label", "w"],
            "'w' is not a column",
        ),
    ]:
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err


def test_imputation_diagnostics_draw_what_mice_users_check(frame):
    imputer = Imputer(Autoencoder(**QUICK, noise="masking"), n_models=2, random_state=0)
    imputer.fit(frame)
    filled = imputer.transform(frame)
    holes = frame.isna()
    # observed against imputed values: a panel per column with missing cells
    fig = imputed_distributions(imputer, frame, filled)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == int(holes.any().sum()) == 4
    for ax in panels:
        name = ax.get_title().split(" (")[0]
        assert ax.get_title() == f"{name} ({int(holes[name].sum())} imputed)"
        heights = [p.get_height() for p in ax.patches]
        assert sum(h > 0 for h in heights) >= 2  # observed and imputed both drawn
    group = next(ax for ax in panels if ax.get_title().startswith("group"))
    assert [t.get_text() for t in group.get_xticklabels()] == ["a", "b", "c"]
    # the missingness pattern: the patterns of the table, the complete rows first
    fig = missingness_pattern(imputer, frame)
    shown = fig.axes[0].images[0].get_array()
    patterns = {tuple(r) for r in holes.to_numpy()}
    assert shown.shape == (len(patterns), 4, 3)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == f"{int((~holes.any(axis=1)).sum())} rows"
    assert sum(int(t.split()[0]) for t in labels) == len(frame)
    # the trace: the last step is what transform wrote, in standard deviations (the last
    # refinement round, with the linear part blended in when it has a share)
    fig = imputation_trace(imputer, frame)
    lines = {ln.get_label(): ln.get_ydata() for ln in fig.axes[0].lines if ln.get_label()[0] != "_"}
    assert set(lines) == {"x", "y", "z"}
    encoder = imputer.models_[0].encoder_
    blended = imputer.linear_ is not None and imputer.linear_.share < 1
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks[-1] == ("+ linear" if blended else str(max(imputer.n_iter_)))
    for j, name in enumerate(["x", "y", "z"]):
        assert len(lines[name]) == max(imputer.n_iter_) + blended
        written = (filled.loc[holes[name], name].mean() - encoder.center[j]) / encoder.scale[j]
        assert lines[name][-1] == pytest.approx(written, abs=1e-4)


def test_the_trace_of_a_vae_imputer_is_by_copy_and_nothing_is_drawn_without_holes(frame):
    imputer = Imputer(VAE(**QUICK), random_state=0).fit(frame)
    fig = imputation_trace(imputer, frame)
    lines = [ln for ln in fig.axes[0].lines if ln.get_label()[0] != "_"]
    assert len(lines) == 3 and all(len(ln.get_ydata()) == TRACE_COPIES for ln in lines)
    assert all(np.ptp(ln.get_ydata()) > 0 for ln in lines)  # copies differ: draws
    complete = frame.dropna()
    for draw in (imputed_distributions, missingness_pattern, imputation_trace):
        assert draw(imputer, complete) is None


@pytest.mark.filterwarnings("ignore:.*has no observed value:aekit.AekitWarning")
@pytest.mark.parametrize("model", [Autoencoder(**QUICK, noise="masking"), VAE(**QUICK)])
def test_a_column_the_imputer_passes_through_is_left_out_of_its_figures(frame, model):
    with_empty = frame.assign(notes=np.nan)
    imputer = Imputer(model, n_models=1, random_state=0).fit(with_empty)
    shown = figures(imputer, with_empty)
    assert {"imputed_distributions", "missingness_pattern", "imputation_trace"} <= set(shown)
    assert {"latent_map", "reconstructions"} <= set(shown)
    pattern = shown["missingness_pattern"].axes[0]
    assert [t.get_text().split()[0] for t in pattern.get_xticklabels()] == list(frame.columns)


@pytest.mark.filterwarnings("ignore:.*have no observed cell:aekit.AekitWarning")
def test_levels_coded_as_floats_are_counted_as_their_levels():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=120), "flag": (rng.random(120) < 0.4) * 1.0})
    df.loc[::7, "flag"] = np.nan  # a binary column read as 0.0 and 1.0
    df.loc[::5, "a"] = np.nan
    imputer = Imputer(Autoencoder(**QUICK, noise="masking"), n_models=1, random_state=0)
    fig = imputed_distributions(imputer.fit(df), df)
    flag = next(ax for ax in fig.axes if ax.get_title().startswith("flag"))
    observed = [p.get_height() for p in flag.patches[:2]]
    seen = df["flag"].dropna()
    assert observed == pytest.approx([(seen == 0).mean(), (seen == 1).mean()])
    assert sum(p.get_height() for p in flag.patches[2:]) == pytest.approx(1.0)
