"""Images through the models: convolutional networks, image-shaped outputs, pixel
likelihoods, and image imputation (NaN pixels filled, observed pixels untouched)."""

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

import aekit
from aekit import VAE, AekitError, Autoencoder, Imputer
from aekit.cli import main
from aekit.data.files import read_data, write_data
from aekit.data.images import hide_pixels, mask_images, write_idx
from aekit.estimators.presets import IMAGE_NETWORKS, default_model, preset
from aekit.metrics import ssim
from aekit.models.networks import MLP, ConvDecoder, ConvEncoder
from aekit.report import Report, figures, imputation_grid, sample_grid
from test_report import assert_pictures, decoded_images

CONV = dict(latent_dim=4, hidden_dims=(8, 16), max_epochs=40, learning_rate=3e-3)
CONV_DAE = Autoencoder(
    noise="masking", noise_level=0.25, mask_input=True, validation_fraction=0.0, **CONV
)


def bars(n=240, side=8, seed=0):
    """Images of one bright bar, horizontal or vertical, two pixels wide, at a random
    place on a dark background: a hidden block can be inferred from the rest."""
    rng = np.random.default_rng(seed)
    X = np.full((n, side, side), 0.05, dtype=np.float32)
    for i in range(n):
        k = rng.integers(0, side - 1)
        if rng.random() < 0.5:
            X[i, k : k + 2, :] = 0.95
        else:
            X[i, :, k : k + 2] = 0.95
    return np.clip(X + 0.02 * rng.standard_normal(X.shape).astype(np.float32), 0, 1)


@pytest.fixture(scope="module")
def images():
    return bars()


# ------------------------------------------------------------- the networks
@pytest.mark.parametrize("upsampling", ["transposed", "shuffle"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 7, 5), (1, 28, 28), (2, 3, 3)])
def test_conv_networks_map_rows_to_rows(shape, upsampling):
    c, h, w = shape
    enc = ConvEncoder(shape, c + 1, [4, 6], 5)
    dec = ConvDecoder(shape, [4, 6], 5, c, upsampling=upsampling)
    x = torch.rand(2, 3, (c + 1) * h * w)  # extra leading axes survive
    z = enc(x)
    assert z.shape == (2, 3, 5)
    assert dec(z).shape == (2, 3, c * h * w)  # odd sides come back exactly


def feature_map_sides(decoder, z):
    """The sides (H, W) of every convolution's output in ``decoder(z)``."""
    sides = []
    hooks = [
        m.register_forward_hook(lambda m, i, out: sides.append(tuple(out.shape[-2:])))
        for m in decoder.modules()
        if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)
    ]
    decoder(z)
    for hook in hooks:
        hook.remove()
    return sides


def test_shuffle_decoder_computes_no_feature_map_at_full_resolution():
    """The transposed decoder convolves 8 channels at 28 x 28 twice; the shuffle
    decoder stops at 14 x 14, where its last convolution gives the 4 pixels of each
    2 x 2 block, and the pixel shuffle lays them out: output pixel (2i + a, 2j + b)
    is channel 2a + b at (i, j)."""
    z = torch.randn(3, 5)
    transposed = ConvDecoder((1, 28, 28), [8, 16], 5, 1)
    assert max(feature_map_sides(transposed, z)) == (28, 28)
    shuffle = ConvDecoder((1, 27, 27), [8, 16], 5, 1, upsampling="shuffle")
    assert feature_map_sides(shuffle, z) == [(14, 14), (14, 14)]  # one up-step, then 1 -> 4
    assert shuffle.out.out_channels == 4
    before = {}
    shuffle.out.register_forward_hook(lambda m, i, out: before.update(out=out))
    image = shuffle(z).reshape(3, 27, 27)  # 28 x 28, the odd side cropped
    blocks = before["out"]  # (3, 4, 14, 14)
    torch.testing.assert_close(image[:, 0:26:2, 0:26:2], blocks[:, 0, :13, :13])
    torch.testing.assert_close(image[:, 1:27:2, 0:26:2], blocks[:, 2, :13, :13])
    torch.testing.assert_close(image[:, 0:26:2, 1:27:2], blocks[:, 1, :13, :13])


def test_conv_encoder_sees_neighbouring_pixels_together():
    """Moving one pixel changes the code through a 3x3 filter, not a dense map: a
    convolution's first layer has 9 weights per channel pair."""
    enc = ConvEncoder((1, 8, 8), 1, [4], 3)
    assert enc.convs[0].weight.shape == (4, 1, 3, 3)


# ------------------------------------------------------------- the estimators
def test_architecture_auto_is_conv_for_images_mlp_for_tables(images):
    conv = Autoencoder(**{**CONV, "max_epochs": 2}).fit(images)
    assert isinstance(conv.module_.encoder, ConvEncoder) and conv.image_shape_ == (8, 8)
    mlp = Autoencoder(architecture="mlp", latent_dim=4, hidden_dims=(16,), max_epochs=2)
    assert isinstance(mlp.fit(images).module_.encoder, MLP)
    table = images.reshape(len(images), -1)
    fitted = Autoencoder(latent_dim=4, hidden_dims=(16,), max_epochs=2).fit(table)
    assert isinstance(fitted.module_.encoder, MLP) and fitted.image_shape_ is None
    with pytest.raises(AekitError, match="architecture='conv' needs images"):
        Autoencoder(architecture="conv", **CONV).fit(table)


@pytest.mark.parametrize("pixel_likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("model", [Autoencoder, VAE])
def test_outputs_are_images_of_the_fitted_shape(images, model, pixel_likelihood):
    settings = {**CONV, "max_epochs": 10}
    est = model(pixel_likelihood=pixel_likelihood, random_state=0, **settings).fit(images[:120])
    recon = est.reconstruct(images[:5])
    assert recon.shape == (5, 8, 8) and np.isfinite(recon).all()
    assert est.transform(images[:5]).shape == (5, 4)
    assert est.inverse_transform(est.transform(images[:5])).shape == (5, 8, 8)
    if pixel_likelihood == "bernoulli":  # the mean of a pixel in [0, 1]
        assert recon.min() >= 0 and recon.max() <= 1
    if model is VAE:
        new = est.sample(7, random_state=0)
        assert new.shape == (7, 8, 8) and np.isfinite(new).all()
        assert est.score_samples(images[:5]).shape == (5,)


def test_conv_reconstructs_better_after_training(images):
    untrained = Autoencoder(**{**CONV, "max_epochs": 1}, random_state=0).fit(images)
    trained = Autoencoder(**CONV, random_state=0).fit(images)
    err = [np.sqrt(np.mean((m.reconstruct(images) - images) ** 2)) for m in (untrained, trained)]
    assert err[1] < 0.5 * err[0]


def test_colour_images(images):
    colour = np.stack([images, images[::-1], 1 - images], axis=1)  # (n, 3, 8, 8)
    est = VAE(random_state=0, **{**CONV, "max_epochs": 5}).fit(colour)
    assert est.image_shape_ == (3, 8, 8) and est.module_.encoder.convs[0].in_channels == 3
    assert est.reconstruct(colour[:4]).shape == (4, 3, 8, 8)
    with pytest.raises(AekitError, match="looks channels-last"):
        VAE(**CONV).fit(colour.transpose(0, 2, 3, 1).repeat(3, axis=1).repeat(3, axis=2))


@pytest.mark.parametrize("upsampling", ["transposed", "shuffle"])
def test_save_load_round_trip_keeps_images(tmp_path, images, upsampling):
    est = VAE(random_state=0, upsampling=upsampling, **{**CONV, "max_epochs": 5}).fit(images)
    aekit.save(est, tmp_path / "m")
    loaded = aekit.load(tmp_path / "m")
    assert loaded.image_shape_ == (8, 8) and isinstance(loaded.module_.encoder, ConvEncoder)
    assert loaded.module_.decoder.out.out_channels == (4 if upsampling == "shuffle" else 1)
    np.testing.assert_array_equal(loaded.reconstruct(images[:9]), est.reconstruct(images[:9]))
    np.testing.assert_array_equal(loaded.sample(3, random_state=1), est.sample(3, random_state=1))


def test_bad_images_are_clear_errors(images):
    est = Autoencoder(**{**CONV, "max_epochs": 2}).fit(images)
    with pytest.raises(AekitError, match=r"images of shape \(7, 7\); the model was fitted on"):
        est.transform(images[:, :7, :7])
    with pytest.raises(AekitError, match="must lie in \\[0, 1\\] \\(divide 8-bit images by 255"):
        Autoencoder(**CONV).fit(images * 255)
    with pytest.raises(AekitError, match="missing in every image"):
        diagonal = np.broadcast_to(np.eye(8, dtype=bool), images.shape)
        Autoencoder(**CONV).fit(hide_pixels(images, diagonal))
    with pytest.raises(AekitError, match="pretrain='stacked'"):
        Autoencoder(pretrain="stacked", noise="masking", **CONV).fit(images)
    with pytest.raises(AekitError, match="set pixel_likelihood='gaussian'"):
        VAE(missingness="self-masking", **CONV).fit(images)
    with pytest.raises(AekitError, match="pixel_likelihood must be one of"):
        Autoencoder(pixel_likelihood="poisson", **CONV).fit(images)
    with pytest.raises(AekitError, match="upsampling must be one of"):
        VAE(upsampling="bilinear", **CONV).fit(images)
    assert not np.isnan(images).any()  # the user's array is untouched


# ------------------------------------------------------------- imputation
@pytest.fixture(scope="module")
def holes(images):
    mask = mask_images(images, "blocks", 0.2, size=3, random_state=0)
    return mask, hide_pixels(images, mask)


@pytest.mark.parametrize("arch", ["conv", "mlp", "conv shuffle"])
def test_image_imputation_keeps_observed_pixels_and_beats_the_mean(images, holes, arch):
    mask, X_miss = holes
    hidden = (64,) if arch == "mlp" else (8, 16)
    model = clone(CONV_DAE).set_params(architecture=arch.split()[0], hidden_dims=hidden)
    model.set_params(upsampling="shuffle" if "shuffle" in arch else "transposed")
    filled = Imputer(model, n_models=1, random_state=0).fit_transform(X_miss)
    assert filled.shape == images.shape and np.isfinite(filled).all()
    np.testing.assert_array_equal(filled[~mask], X_miss[~mask])  # bit for bit
    assert np.isnan(X_miss[mask]).all()  # the input is not modified
    mean = np.where(mask, np.nanmean(X_miss, axis=0), X_miss)
    ours, baseline = ssim(images, filled, data_range=1.0), ssim(images, mean, data_range=1.0)
    assert ours.mean() > baseline.mean() + 0.05


@pytest.mark.slow
def test_default_imputer_on_images(images, holes):
    mask, X_miss = holes
    imp = Imputer(random_state=0).fit(X_miss[:40])
    assert imp.model_.image_shape_ == (8, 8) and len(imp.models_) == 3
    assert isinstance(imp.model_.module_.encoder, ConvEncoder)  # benchmarks/images.py's pick
    # benchmarks/image_settings.py's pick: the decoder ends in a pixel shuffle
    assert imp.model_.upsampling == "shuffle" and imp.model_.module_.decoder.shuffle is not None
    filled = imp.transform(X_miss[:40])
    assert filled.shape == (40, 8, 8)
    np.testing.assert_array_equal(filled[~mask[:40]], X_miss[:40][~mask[:40]])
    errors = imp.expected_error_
    assert len(errors) == 64 and set(errors["metric"].dropna()) <= {"rmse", "-"}


def test_multiple_image_imputations_are_draws(images, holes):
    mask, X_miss = holes
    vae = VAE(objective="iwae", n_samples=4, validation_fraction=0.0, random_state=0, **CONV)
    imp = Imputer(vae.set_params(max_epochs=20), n_models=1, random_state=0).fit(X_miss[:120])
    copies = imp.multiple_imputations(X_miss[:10], 3, random_state=0)
    assert len(copies) == 3 and all(c.shape == (10, 8, 8) for c in copies)
    m = mask[:10]
    for c in copies:
        np.testing.assert_array_equal(c[~m], X_miss[:10][~m])
        assert np.isfinite(c).all() and c.min() >= 0 and c.max() <= 1
    assert not np.array_equal(copies[0][m], copies[1][m])


def test_multiple_image_imputations_from_bootstrapped_conv_daes(holes):
    mask, X_miss = holes
    dae = Autoencoder(
        noise="masking", mask_input=True, validation_fraction=0.0, **{**CONV, "max_epochs": 3}
    )
    copies = Imputer(dae, random_state=0).multiple_imputations(X_miss[:40], 2)
    m = mask[:40]
    for c in copies:
        assert c.shape == (40, 8, 8) and np.isfinite(c).all()
        np.testing.assert_array_equal(c[~m], X_miss[:40][~m])
    assert not np.array_equal(copies[0][m], copies[1][m])  # two models, two resamples


def test_colour_image_imputation_hides_all_channels_of_a_pixel(images):
    colour = np.stack([images, 0.5 * images, 1 - images], axis=1)
    mask = mask_images(colour, "pixels", 0.2, random_state=0)
    assert (mask == mask[:, :1]).all()  # a pixel's three channels go together
    X_miss = hide_pixels(colour, mask)
    dae = clone(CONV_DAE).set_params(max_epochs=10)
    filled = Imputer(dae, n_models=1, random_state=0).fit_transform(X_miss)
    assert filled.shape == colour.shape
    np.testing.assert_array_equal(filled[~mask], colour[~mask])


# ------------------------------------------------------------- files
@pytest.mark.parametrize("name", ["x.npy", "x-idx3-ubyte", "x.idx.gz", "folder"])
def test_images_written_and_read_back_in_every_format(tmp_path, images, name):
    X = hide_pixels(images[:6], mask_images(images[:6], "pixels", 0.2, random_state=0))
    path = write_data(X, tmp_path / name)
    back = read_data(path)
    assert back.shape == X.shape
    np.testing.assert_array_equal(np.isnan(back), np.isnan(X))  # holes survive
    atol = 1 / 510 if name == "folder" else 0  # a PNG holds 8 bits
    np.testing.assert_allclose(back[~np.isnan(X)], X[~np.isnan(X)], atol=atol)
    with pytest.raises(AekitError, match="exists"):
        write_data(X, path)


def test_data_files_refuse_what_they_cannot_hold(tmp_path, images):
    with pytest.raises(AekitError, match="are not a table"):
        write_data(images, tmp_path / "x.csv")
    with pytest.raises(AekitError, match=r"unknown file type '\.txt'"):
        write_data(images, tmp_path / "x.txt")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(AekitError, match="not a NumPy array of numbers"):
        read_data(tmp_path / "obj.npy")  # never unpickled
    np.save(tmp_path / "flat.npy", np.zeros(5))
    with pytest.raises(AekitError, match="1-D array"):
        read_data(tmp_path / "flat.npy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flat.npy", "obj.npy"]


def test_eight_bit_npy_images_are_read_as_idx_images_are(tmp_path, images):
    eight_bit = np.rint(images[:20] * 255).astype(np.uint8)
    np.save(tmp_path / "u8.npy", eight_bit)
    write_idx(tmp_path / "u8.idx", eight_bit)
    from_npy = read_data(tmp_path / "u8.npy")
    assert from_npy.dtype == np.float32 and from_npy.max() <= 1.0
    np.testing.assert_array_equal(from_npy, read_data(tmp_path / "u8.idx"))
    np.testing.assert_allclose(from_npy * 255, eight_bit, atol=1e-4)
    table = np.arange(12, dtype=np.uint8).reshape(4, 3)  # a table of small counts
    np.save(tmp_path / "counts.npy", table)
    np.testing.assert_array_equal(read_data(tmp_path / "counts.npy"), table)


# ------------------------------------------------------------- figures
@pytest.fixture(scope="module")
def image_imputer(holes):
    _, X_miss = holes
    vae = VAE(objective="iwae", n_samples=2, validation_fraction=0.0, random_state=0, **CONV)
    return Imputer(vae.set_params(max_epochs=10), n_models=1, random_state=0).fit(X_miss[:100])


def test_image_figures_of_an_imputer(tmp_path, images, holes, image_imputer):
    _, X_miss = holes
    got = figures(image_imputer, X_miss[:100])
    assert {"imputations", "reconstructions", "samples", "imputation_errors"} <= set(got)
    page = (
        Report("images")
        .add_model("imputer", image_imputer, X_miss[:100])
        .write(tmp_path / "r.html")
    )
    text = page.read_text(encoding="utf-8")
    assert "64 pixels of images 8 x 8" in text
    assert_pictures(decoded_images(text), len(got))


def test_imputation_grid_draws_holes_in_red(tmp_path, images, holes):
    mask, X_miss = holes
    filled = np.where(mask, 0.5, images)
    path = imputation_grid(X_miss[:4], filled[:4], images[:4], tmp_path / "grid.png")
    pixels = matplotlib.image.imread(path)[..., :3]
    red = (pixels[..., 0] > 0.7) & (pixels[..., 1] < 0.3) & (pixels[..., 2] < 0.3)
    assert red.mean() > 0.005  # the holes are drawn
    fig = imputation_grid(X_miss[:4], filled[:4])
    assert len(fig.axes) == 2 * 4  # no originals given: two rows
    with pytest.raises(AekitError, match="one shape"):
        imputation_grid(X_miss[:4], filled[:3])


def test_sample_grid_needs_a_vae_on_images(image_imputer, images):
    fig = sample_grid(image_imputer, n=12, per_row=6)
    assert len(fig.axes) == 12
    table_model = Autoencoder(latent_dim=2, hidden_dims=(8,), max_epochs=2)
    with pytest.raises(AekitError, match="needs a VAE fitted on images"):
        sample_grid(table_model.fit(images.reshape(len(images), -1)))


# ------------------------------------------------------------- command line
@pytest.fixture
def quick_networks(monkeypatch):
    """The command line's image models with small perceptrons, so that its tests
    take seconds (test_default_imputer_on_images runs the real default)."""
    for key, value in dict(architecture="mlp", hidden_dims=(32,), latent_dim=4).items():
        monkeypatch.setitem(IMAGE_NETWORKS, key, value)


@pytest.fixture(scope="module")
def image_files(tmp_path_factory, images):
    """Small images on disk: complete ones as .npy, holed ones as a PNG folder."""
    d = tmp_path_factory.mktemp("images")
    small = images[:40, 1:7, 1:7]  # 40 images of 6x6: a quick default imputer
    np.save(d / "complete.npy", small)
    holed = hide_pixels(small, mask_images(small, "blocks", 0.15, size=2, random_state=0))
    write_data(holed, d / "holed")
    return small, holed, d


def test_cli_imputes_images_with_holes(quick_networks, image_files, tmp_path, capsys):
    _, holed, d = image_files
    out, grid = tmp_path / "filled.idx.gz", tmp_path / "grid.png"
    assert main(["impute", str(d / "holed"), "-o", str(out), "--grid", str(grid)]) == 0
    err = capsys.readouterr().err
    assert f"Imputed {int(np.isnan(holed).sum())} missing pixels" in err
    assert "Expected error on held-out pixels" in err and str(grid) in err
    filled = read_data(out)
    assert filled.shape == holed.shape and np.isfinite(filled).all()
    observed = ~np.isnan(holed)
    np.testing.assert_allclose(filled[observed], holed[observed], atol=1 / 510)  # 8-bit PNG in
    assert_pictures([matplotlib.image.imread(grid)], 1)


@pytest.mark.slow
def test_cli_hides_pixels_then_scores_the_imputation(quick_networks, image_files, tmp_path, capsys):
    complete, _, d = image_files
    out = tmp_path / "pngs"
    args = ["impute", str(d / "complete.npy"), "--hide", "pixels:0.2", "-o", str(out)]
    assert main(args) == 0
    assert "Against the originals: SSIM" in capsys.readouterr().err
    assert read_data(out).shape == complete.shape
    draws = tmp_path / "draws.npy"
    assert main([*args[:-1], str(draws), "--model", "vae", "--m", "2", "-q"]) == 0
    assert np.load(draws).shape == (2, *complete.shape)


def test_cli_fits_samples_and_reports_on_images(quick_networks, image_files, tmp_path, capsys):
    _, _, d = image_files
    model = tmp_path / "model"
    assert main(["fit", str(d / "complete.npy"), "-o", str(model), "--model", "vae", "-q"]) == 0
    detector = aekit.load(model)
    fitted = detector.model_
    assert fitted.image_shape_ == (6, 6) and fitted.latent_dim == 16  # 16 for images
    assert detector.scoring_ == "reconstruction"  # images: the distance to the reconstruction
    drawn, grid = tmp_path / "drawn.npy", tmp_path / "samples.png"
    assert main(["sample", str(model), "-n", "12", "-o", str(drawn), "--grid", str(grid)]) == 0
    new = np.load(drawn)
    assert new.shape == (12, 6, 6) and new.min() >= 0 and new.max() <= 1
    assert_pictures([matplotlib.image.imread(grid)], 1)
    codes = tmp_path / "codes.csv"
    assert main(["encode", str(model), str(d / "complete.npy"), "-o", str(codes)]) == 0
    assert pd.read_csv(codes).shape == (40, 16)
    page = tmp_path / "report.html"
    assert main(["report", str(model), str(d / "complete.npy"), "-o", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert "New images drawn from the model" in text and "36 pixels of images 6 x 6" in text
    capsys.readouterr()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["impute", "{d}/t.csv", "-o", "{o}/x.csv", "--hide", "pixels:0.2"], "are for images"),
        (["impute", "{d}/complete.npy", "-o", "{o}/x.npy", "--hide", "holes:2"], "--hide must"),
        (["impute", "{d}/complete.npy", "-o", "{o}/x.npy", "--hide", "pixels:1"], "--hide must"),
        (["impute", "{d}/holed", "-o", "{o}/x.npy", "--hide", "pixels:0.2"], "complete images"),
        (["impute", "{d}/holed", "-o", "{o}/x.npy", "--grid", "{o}/g.jpg"], "a .png file"),
        (["impute", "{d}/holed", "-o", "{o}/x.idx", "--model", "vae", "--m", "2"], "as .npy"),
        (["impute", "{d}/holed", "-o", "{o}/x.csv"], "are not a table"),
        (["sample", "{d}/table-vae", "-n", "3", "-o", "{o}/s.npy", "--grid", "{o}/g.png"], "table"),
        (["fit", "{d}/complete.npy", "-o", "{o}/m", "--scoring", "error"], "--scoring must"),
    ],
)
def test_cli_image_mistakes_exit_2(quick_networks, image_files, tmp_path, capsys, args, message):
    _, _, d = image_files
    if not (d / "t.csv").exists():
        pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [1.0, 0, 1, 0]}).to_csv(d / "t.csv", index=False)
        table = np.random.default_rng(0).normal(size=(40, 3))
        aekit.save(VAE(latent_dim=1, hidden_dims=(4,), max_epochs=2).fit(table), d / "table-vae")
    assert main([a.format(d=d, o=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_mnar_preset_models_pixels_as_gaussians(holes):
    _, X_miss = holes
    model = preset("mnar", (8, 8)).set_params(architecture="mlp", hidden_dims=(8,), max_epochs=3)
    assert model.pixel_likelihood == "gaussian"
    filled = Imputer(model, n_models=1, random_state=0).fit_transform(X_miss[:60])
    assert filled.shape == (60, 8, 8) and np.isfinite(filled).all()


def test_image_models_wait_longer_before_stopping():
    """A few hundred images give a noisy validation loss: the models fitted for their
    own sake (and the detector's default) wait 50 epochs on images, 20 on tables."""
    for name in ("ae", "dae", "vae", "tvae"):
        assert preset(name, (8, 8), task="model").patience == 50
        assert preset(name, task="model").patience == 20
    assert default_model("detect", (8, 8)).patience == 50
    assert preset("dae", (8, 8)).patience == preset("dae").patience  # imputers unchanged
