"""The models' losses, term by term, on tensors built in the test."""

import copy
import math

import numpy as np
import pytest
import torch
from torch.distributions import Independent, Normal, StudentT, kl_divergence

from aekit.data.rows import TensorRows
from aekit.models import AEModule, Corruption, Likelihood, StudentTVAEModule, VAEModule
from aekit.models.networks import member_state, select_members
from aekit.models.shared_draws import shared_sample
from aekit.models.vae import monte_carlo_kl
from aekit.training import TrainSettings, train

KINDS, WIDTHS = ["continuous", "continuous", "binary", "categorical"], [1, 1, 1, 3]
COLUMN_OF_DIM = torch.tensor([0, 1, 2, 3, 3, 3])
FILL = torch.tensor([0.0, 0.0, 0.4, 0.2, 0.3, 0.5])


def rows(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 6)
    x[:, :2] = torch.randn(n, 2, generator=g)
    x[:, 2] = (torch.rand(n, generator=g) < 0.4).float()
    x[torch.arange(n), 3 + torch.randint(0, 3, (n,), generator=g)] = 1.0
    return x, torch.ones(n, 4, dtype=torch.bool)


def corruption(kind, level):
    return Corruption(kind, level, COLUMN_OF_DIM, FILL, -torch.ones(6), 2 * torch.ones(6))


# --------------------------------------------------------------------- AE / DAE
def test_ae_loss_is_negative_log_likelihood_of_observed_cells():
    torch.manual_seed(0)
    ae = AEModule(Likelihood(KINDS, WIDTHS), [16], 2).eval()
    x, mask = rows()
    mask[0, 1] = False
    terms = ae.loss(x, mask)
    params = ae.decode(ae.encode(x))
    expected = -ae.likelihood.log_prob(params, x, mask).sum(-1).mean()
    torch.testing.assert_close(terms["reconstruction"], expected)
    torch.testing.assert_close(terms["loss"], terms["reconstruction"])


def test_dae_scores_the_clean_row_from_the_corrupted_one():
    torch.manual_seed(0)
    ae = AEModule(Likelihood(KINDS, WIDTHS), [16], 2, corruption("masking", 0.999999)).train()
    x, mask = rows()
    loss = ae.loss(x, mask)["reconstruction"]
    # every cell hidden: the encoder sees only fill values, the target is still x
    params = ae.decode(ae.encode(FILL.expand_as(x)))
    expected = -ae.likelihood.log_prob(params, x, mask).sum(-1).mean()
    torch.testing.assert_close(loss, expected)
    ae.eval()  # no corruption outside training
    torch.testing.assert_close(ae.loss(x, mask)["loss"], -ae.log_prob(x, mask).sum(-1).mean())


def test_masking_hides_whole_columns_with_their_fill():
    torch.manual_seed(0)
    x, _ = rows(4000)
    out, _ = corruption("masking", 0.3)(x, torch.ones(len(x), 4, dtype=torch.bool))
    kept = (out[:, 3:] == x[:, 3:]).all(1)
    hidden = (out[:, 3:] == FILL[3:]).all(1)
    assert torch.all(kept ^ hidden)  # a one-hot group is hidden as a whole or not at all
    assert abs(hidden.float().mean().item() - 0.3) < 0.03
    assert abs((out[:, 0] == 0).float().mean().item() - 0.3) < 0.03
    untouched = out[:, :3] == x[:, :3]
    assert torch.all(untouched | (out[:, :3] == FILL[:3]))


def test_gaussian_noise_has_the_requested_scale():
    torch.manual_seed(0)
    x, _ = rows(5000)
    diff = corruption("gaussian", 0.5)(x, None)[0] - x
    assert abs(diff.std().item() - 0.5) < 0.01 and abs(diff.mean().item()) < 0.01


def test_salt_and_pepper_sets_extremes():
    torch.manual_seed(0)
    x, _ = rows(5000)
    out, _ = corruption("salt_pepper", 0.2)(x, None)
    changed = out != x
    assert set(out[changed].unique().tolist()) <= {-1.0, 2.0}
    assert abs(changed.float().mean().item() - 0.2) < 0.02


def test_stacked_stage_trains_its_own_layers_in_place():
    torch.manual_seed(0)
    ae = AEModule(Likelihood(KINDS, WIDTHS), [16, 8], 2, corruption("masking", 0.2))
    before = {k: v.clone() for k, v in ae.state_dict().items()}
    stage = ae.layerwise(1).train()
    x, mask = rows()
    stage.loss(x, mask)["loss"].backward()
    torch.optim.SGD(stage.parameters(), lr=0.1).step()
    changed = {k for k, v in ae.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {
        "encoder.layers.1.weight",
        "encoder.layers.1.bias",
        "decoder.layers.1.weight",
        "decoder.layers.1.bias",
    }


# ------------------------------------------------------------------ VAE / t-VAE
def test_monte_carlo_kl_agrees_with_closed_form():
    torch.manual_seed(0)
    q = Independent(Normal(torch.tensor([[0.5, -1.0]]), torch.tensor([[0.7, 1.3]])), 1)
    p = Independent(Normal(torch.zeros(1, 2), torch.ones(1, 2)), 1)
    z = q.sample((200_000,))
    torch.testing.assert_close(monte_carlo_kl(q, p, z), kl_divergence(q, p), rtol=0.02, atol=0)


def test_student_t_kl_approaches_gaussian_as_df_grows():
    torch.manual_seed(0)
    loc, scale = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.7, 1.3]])
    gauss = kl_divergence(
        Independent(Normal(loc, scale), 1), Independent(Normal(0 * loc, 1 + 0 * scale), 1)
    ).item()
    gaps = []
    for df in (3.0, 10.0, 1000.0):
        d = torch.full_like(loc, df)
        q = Independent(StudentT(d, loc, scale), 1)
        p = Independent(StudentT(d, 0 * loc, 1 + 0 * scale), 1)
        z = q.sample((400_000,))
        gaps.append(abs(monte_carlo_kl(q, p, z).item() - gauss))
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 0.01 * gauss + 0.005


@pytest.fixture(params=[VAEModule, StudentTVAEModule], ids=["vae", "t-vae"])
def vae(request):
    torch.manual_seed(0)
    return request.param(Likelihood(KINDS, WIDTHS), [16], 2).eval()


def test_elbo_terms_and_loss(vae):
    x, mask = rows()
    torch.manual_seed(1)
    terms = vae.elbo_terms(x, mask, k=3)
    assert terms["reconstruction"].shape == terms["kl"].shape == (8,)
    assert torch.all(terms["kl"] > -0.5)  # a KL, up to Monte-Carlo noise for the t-VAE
    torch.manual_seed(1)
    loss = vae.loss(x, mask)
    assert set(loss) == {"loss", "reconstruction", "kl"}
    torch.testing.assert_close(loss["loss"], loss["reconstruction"] + loss["kl"])


def test_iwae_at_k1_equals_the_elbo_and_grows_with_k(vae):
    x, mask = rows(6)
    torch.manual_seed(0)
    with torch.no_grad():
        reps = 4000
        iwae1 = torch.stack([vae.log_likelihood(x, mask, k=1) for _ in range(reps)])
        terms = vae.elbo_terms(x, mask, k=reps)
        elbo = terms["reconstruction"] - terms["kl"]
        se = iwae1.std(0) / math.sqrt(reps)
        assert torch.all((iwae1.mean(0) - elbo).abs() < 4 * se + 0.02)
        means = [
            torch.stack([vae.log_likelihood(x, mask, k=k) for _ in range(200)]).mean().item()
            for k in (1, 10, 100)
        ]
    assert means[0] < means[1] < means[2]


def test_student_t_degrees_of_freedom_and_shared_prior():
    torch.manual_seed(0)
    tvae = StudentTVAEModule(Likelihood(KINDS, WIDTHS), [16], 2)
    x, _ = rows()
    q = tvae.posterior(x)
    df = q.base_dist.df
    assert torch.all(df > 3.0)
    p = tvae.prior(q)
    assert torch.equal(p.base_dist.df, df)
    assert torch.all(p.base_dist.loc == 0) and torch.all(p.base_dist.scale == 1)
    # reparameterised: gradients reach the encoder through the Student-t draws
    z = q.rsample((2,))
    z.sum().backward()
    assert tvae.encoder.layers[0].weight.grad.abs().sum() > 0


def test_missing_cell_is_ignored_by_the_vae_likelihood(vae):
    x, mask = rows()
    mask[2, 0] = False
    z = vae.posterior(x).sample((4,))
    params = vae.decode(z)
    other = x.clone()
    other[2, 0] = 123.0
    torch.testing.assert_close(
        vae.likelihood.log_prob(params, other, mask), vae.likelihood.log_prob(params, x, mask)
    )


# --------------------------------------------------------------------- ensembles
def test_ensemble_member_is_the_single_network_with_its_slice():
    torch.manual_seed(0)
    kw = dict(corruption=corruption("masking", 0.3), mask_input=True)
    ensemble = AEModule(Likelihood(KINDS, WIDTHS, members=3), [16, 8], 2, members=3, **kw).eval()
    with torch.no_grad():
        ensemble.likelihood.raw_scale.normal_()  # members differ in every parameter
    x, mask = rows(10)
    mask[2, 0] = mask[5, 3] = False
    terms = ensemble.loss(x, mask)  # a shared batch, one loss per member
    assert terms["loss"].shape == (3,)
    for e in range(3):
        single = AEModule(Likelihood(KINDS, WIDTHS), [16, 8], 2, **kw).eval()
        single.load_state_dict(member_state(ensemble, single, e))
        torch.testing.assert_close(ensemble.loss(x, mask)["loss"][e], single.loss(x, mask)["loss"])
        torch.testing.assert_close(
            ensemble.impute(x, mask, n_iter=3)[e], single.impute(x, mask, n_iter=3)
        )
    assert not torch.allclose(terms["loss"][0], terms["loss"][1])


@pytest.mark.parametrize("module_class", [VAEModule, StudentTVAEModule])
def test_vae_ensemble_member_is_the_single_vae_with_its_slice(module_class):
    """K posterior draws of each member's rows, (K, members, n, latent), decode as each
    member's own network would; the shared draws' log weights, the loss's shape and
    the imputations agree member by member."""
    torch.manual_seed(0)
    ensemble = module_class(
        Likelihood(KINDS, WIDTHS, members=3), [16], 2, 4, "iwae", members=3
    ).eval()
    with torch.no_grad():
        ensemble.likelihood.raw_scale.normal_()
    x, mask = rows(10)
    mask[2, 0] = mask[5, 3] = False
    assert ensemble.loss(x, mask)["loss"].shape == (3,)
    z = torch.randn(5, 3, 10, 2)
    params = ensemble.decode(z)
    assert params.shape == (5, 3, 10, 6)
    for e in range(3):
        single = module_class(Likelihood(KINDS, WIDTHS), [16], 2, 4, "iwae").eval()
        single.load_state_dict(member_state(ensemble, single, e))
        torch.testing.assert_close(params[:, e], single.decode(z[:, e]))
        torch.testing.assert_close(ensemble.posterior(x).mean[e], single.posterior(x).mean)
        mine, theirs = (
            m.log_weights(x, mask, 6, shared=torch.Generator().manual_seed(1))
            for m in (ensemble, single)
        )
        torch.testing.assert_close(mine[:, e], theirs)
    with pytest.raises(ValueError, match="no batched-ensemble form"):
        VAEModule(Likelihood(KINDS, WIDTHS), [16], 2, missingness=torch.nn.Identity(), members=2)


def test_ensemble_members_train_and_stop_on_their_own():
    """Each member keeps the weights of its own best epoch; a member that has run out
    of patience is frozen there (later values, even better or non-finite ones, are
    ignored); training runs until the last member has waited ``patience`` epochs."""
    torch.manual_seed(0)
    ensemble = AEModule(Likelihood(KINDS, WIDTHS, members=2), [8], 2, members=2)
    x, mask = rows(32)
    # member 0 is best at epoch 2, member 1 at epoch 4 (errors as the monitor reports them)
    nan = float("nan")
    curve = iter([[5, 4], [1, 3], [2, 2], [3, 1], [4, 5], [0, 6], [nan, 7], [8, 8]])
    saved = []

    def monitor():
        saved.append({k: v.clone() for k, v in ensemble.state_dict().items()})
        values = next(curve)  # one per member still in the ensemble: member 0 leaves first
        return values[len(values) - ensemble.members :]

    settings = TrainSettings(batch_size=8, max_epochs=8, learning_rate=1e-2, patience=3)
    histories = train(ensemble, TensorRows(x, mask), None, settings, monitor=monitor)
    assert [len(h) for h in histories] == [5, 7]  # member 0 stops after 5, member 1 after 7
    assert histories[0]["val_monitor"].tolist() == [5, 1, 2, 3, 4]
    assert [h.loc[h["best"], "epoch"].tolist() for h in histories] == [[2], [4]]
    weight = "encoder.layers.0.weight"
    torch.testing.assert_close(ensemble.state_dict()[weight][0], saved[1][weight][0])
    torch.testing.assert_close(ensemble.state_dict()[weight][1], saved[3][weight][1])
    assert not torch.equal(saved[1][weight][0], saved[0][weight][0])  # it did train


@pytest.mark.parametrize("members", [None, 2])
def test_the_loop_steps_adam_as_torch_optim_adam_does(members):
    """The loop's Adam (:mod:`aekit.training.adam`) moves the weights as
    ``torch.optim.Adam.step`` does, step after step: full batches, so the rows'
    order changes only the order of a sum."""
    torch.manual_seed(0)
    ae = AEModule(Likelihood(KINDS, WIDTHS, members=members), [8], 2, members=members)
    reference = copy.deepcopy(ae).train()
    start = [p.detach().clone() for p in ae.parameters()]
    x, mask = rows(32)
    epochs = iter(range(100, 0, -1))  # a monitor that improves every epoch: keep the last
    settings = TrainSettings(batch_size=32, max_epochs=6, learning_rate=1e-2, patience=10)
    train(ae, TensorRows(x, mask), None, settings, monitor=lambda: float(next(epochs)))
    adam = torch.optim.Adam(reference.parameters(), lr=1e-2)
    for _ in range(6):
        adam.zero_grad()
        reference.loss(x, mask)["loss"].sum().backward()
        adam.step()
    for (name, p), q, p0 in zip(ae.named_parameters(), reference.parameters(), start, strict=True):
        torch.testing.assert_close(p, q, msg=name)
        assert (p - p0).abs().max() > 1e-3, name  # six steps of 1e-2 moved every weight


def test_stopped_members_leave_the_batch_and_the_others_train_on_as_before():
    """Once a member stops, the others train without it (its arithmetic saved),
    exactly as they would have with it (full batches: no draw depends on it),
    and the ensemble ends at its full size with the stopped member's best weights."""
    torch.manual_seed(0)
    big = AEModule(Likelihood(KINDS, WIDTHS, members=3), [8], 2, members=3)
    small = copy.deepcopy(big)
    select_members(small, torch.tensor([0, 2]))  # the two that keep training, alone
    x, mask = rows(32)
    settings = TrainSettings(batch_size=32, max_epochs=8, learning_rate=1e-2, patience=2)
    sizes, saved = [], []

    def falling(module):
        def monitor():  # improves every epoch, except member 1 of three after epoch 1
            sizes.append(module.members)
            saved.append({k: v.clone() for k, v in module.state_dict().items()})
            values = np.full(module.members, 1.0 / len(saved))
            if module.members == 3:
                values[1] = 1.0 if len(saved) == 1 else 2.0
            return values

        return monitor

    histories = train(big, TensorRows(x, mask), None, settings, monitor=falling(big))
    assert sizes == [3, 3, 3, 2, 2, 2, 2, 2]  # member 1 stops after epoch 3 and leaves
    assert [len(h) for h in histories] == [8, 3, 8]
    after_first = saved[0]
    sizes.clear(), saved.clear()
    train(small, TensorRows(x, mask), None, settings, monitor=falling(small))
    assert big.members == 3
    for name, p in big.named_parameters():
        assert p.shape[0] == 3
        torch.testing.assert_close(p[[0, 2]], dict(small.named_parameters())[name])
    # member 1 holds its best weights, those it ended epoch 1 with
    for name, value in big.state_dict().items():
        if name in dict(big.named_parameters()):
            torch.testing.assert_close(value[1], after_first[name][1])


@pytest.mark.parametrize("df", [None, 3.0, 10.0])
def test_shared_draws_follow_the_posterior_and_are_the_same_for_every_row(df):
    stats = pytest.importorskip("scipy.stats")
    loc, scale = torch.tensor([[0.0], [2.0]]), torch.tensor([[1.0], [0.5]])
    if df is None:
        q, reference = Independent(Normal(loc, scale), 1), stats.norm()
    else:
        df_ = torch.full_like(loc, df)
        q, reference = Independent(StudentT(df_, loc, scale), 1), stats.t(df)
    z = shared_sample(q, 20000, torch.Generator().manual_seed(0))  # (k, 2 rows, 1)
    assert z.shape == (20000, 2, 1)
    standard = ((z - loc) / scale).squeeze(-1)
    torch.testing.assert_close(standard[:, 0], standard[:, 1])  # the rows share them
    # and they are draws of the posterior's family (Kolmogorov-Smirnov)
    assert stats.kstest(standard[:, 0].numpy(), reference.cdf).pvalue > 0.01
    again = shared_sample(q, 20000, torch.Generator().manual_seed(0))
    torch.testing.assert_close(again, z)
