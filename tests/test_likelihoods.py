"""Each observation model, term by term, against scipy's densities."""

import numpy as np
import pytest
import torch
from scipy import stats
from torch.distributions import Bernoulli, Categorical, Normal

from aekit.indexing import broadcast_shape
from aekit.models import Likelihood, likelihoods
from aekit.models.likelihoods import NEVER_LOGIT
from aekit.models.nll import nll_with_gradient

# columns: continuous, binary, categorical(3 levels), continuous -> width 1+1+3+1 = 6
KINDS, WIDTHS = ["continuous", "binary", "categorical", "continuous"], [1, 1, 3, 1]


@pytest.fixture
def lik():
    torch.manual_seed(0)
    lik = Likelihood(KINDS, WIDTHS)
    with torch.no_grad():
        lik.raw_scale.copy_(torch.tensor([0.3, -1.0]))
    return lik


def batch(n=5):
    g = torch.Generator().manual_seed(1)
    params = torch.randn(n, 6, generator=g)
    x = torch.zeros(n, 6)
    x[:, 0] = torch.randn(n, generator=g)
    x[:, 1] = (torch.rand(n, generator=g) < 0.5).float()
    level = torch.randint(0, 3, (n,), generator=g)
    x[torch.arange(n), 2 + level] = 1.0
    x[:, 5] = torch.randn(n, generator=g)
    return params, x, level


def test_each_term_matches_scipy(lik):
    params, x, level = batch()
    mask = torch.ones(5, 4, dtype=torch.bool)
    lp = lik.log_prob(params, x, mask).detach().double().numpy()
    p, xx, scale = params.double().numpy(), x.double().numpy(), lik.scale.double().detach().numpy()
    np.testing.assert_allclose(lp[:, 0], stats.norm.logpdf(xx[:, 0], p[:, 0], scale[0]), rtol=1e-5)
    np.testing.assert_allclose(lp[:, 3], stats.norm.logpdf(xx[:, 5], p[:, 5], scale[1]), rtol=1e-5)
    prob = 1 / (1 + np.exp(-p[:, 1]))
    np.testing.assert_allclose(lp[:, 1], stats.bernoulli.logpmf(xx[:, 1], prob), rtol=1e-5)
    logits = p[:, 2:5]
    log_softmax = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    np.testing.assert_allclose(lp[:, 2], log_softmax[np.arange(5), level.numpy()], rtol=1e-5)


def test_bernoulli_on_unit_interval_is_cross_entropy():
    lik = Likelihood(["binary"], [1])
    x, logit = torch.tensor([[0.25]]), torch.tensor([[0.7]])
    p = torch.sigmoid(logit)
    expected = 0.25 * torch.log(p) + 0.75 * torch.log1p(-p)
    got = lik.log_prob(logit, x, torch.ones(1, 1, dtype=torch.bool))
    torch.testing.assert_close(got, expected)


def test_missing_cell_changes_nothing(lik):
    params, x, _ = batch()
    mask = torch.ones(5, 4, dtype=torch.bool)
    mask[0, 0] = mask[1, 2] = False
    params.requires_grad_(True)
    lp = lik.log_prob(params, x, mask)
    assert lp[0, 0] == 0 and lp[1, 2] == 0
    other = x.clone()
    other[0, 0] = 1e6  # any value in a missing cell
    other[1, 2:5] = torch.tensor([0.2, 0.3, 0.5])
    torch.testing.assert_close(lik.log_prob(params, other, mask), lp)
    lp.sum().backward()
    assert params.grad[0, 0] == 0 and (params.grad[1, 2:5] == 0).all()
    assert params.grad[2, 0] != 0


def test_leading_sample_dimension_broadcasts(lik):
    params, x, _ = batch()
    mask = torch.ones(5, 4, dtype=torch.bool)
    stacked = torch.stack([params, params + 1])
    lp = lik.log_prob(stacked, x, mask)
    assert lp.shape == (2, 5, 4)
    torch.testing.assert_close(lp[1], lik.log_prob(params + 1, x, mask))


@pytest.mark.parametrize(
    "shapes",
    [
        ((2, 5), (2, 5)),
        ((5,), (2, 5)),
        ((2, 1), (1, 5), (2, 5)),
        ((3,), (3,), (3,)),
        ((3, 1, 4), (5, 1)),
        ((), (2, 3)),
        ((0,), (1,)),
        ((1, 0), (4, 1)),
        ((3, 64), (64,), (1, 1)),
    ],
)
def test_broadcast_shape_is_torchs(shapes):
    sizes = [torch.Size(s) for s in shapes]
    assert broadcast_shape(*sizes) == torch.broadcast_shapes(*sizes)


@pytest.mark.parametrize("shapes", [((2,), (3,)), ((0,), (2,)), ((2, 3), (3, 3), (1, 2))])
def test_broadcast_shape_refuses_what_torch_refuses(shapes):
    sizes = [torch.Size(s) for s in shapes]
    with pytest.raises(RuntimeError):
        torch.broadcast_shapes(*sizes)
    with pytest.raises(RuntimeError, match="do not broadcast"):
        broadcast_shape(*sizes)


def test_mean_and_sample_are_valid_rows(lik):
    params, _, _ = batch(400)
    mean = lik.mean(params)
    assert torch.all((mean[:, 1] > 0) & (mean[:, 1] < 1))
    torch.testing.assert_close(mean[:, 2:5].sum(1), torch.ones(400))
    torch.testing.assert_close(mean[:, [0, 5]], params[:, [0, 5]])
    torch.manual_seed(0)
    draw = lik.sample(params)
    assert set(draw[:, 1].tolist()) <= {0.0, 1.0}
    assert torch.all(draw[:, 2:5].sum(1) == 1) and set(draw[:, 2:5].flatten().tolist()) == {
        0.0,
        1.0,
    }
    # the draws follow the probabilities: level frequencies near their mean probability
    torch.testing.assert_close(draw[:, 2:5].mean(0), mean[:, 2:5].mean(0), atol=0.07, rtol=0)


def reference_log_prob(lik, params, x, mask):
    """log p(x | params) per cell through ``torch.distributions``, for autograd."""
    cells = torch.zeros(*torch.broadcast_shapes(params.shape[:-1], x.shape[:-1]), lik.n_columns)
    cells = cells.to(params.dtype)
    cont, binary = lik.cont_cols.tolist(), lik.bin_cols.tolist()
    scale = lik.scale.to(params.dtype)
    cells[..., cont] = Normal(params[..., lik.cont_dims], scale).log_prob(x[..., lik.cont_dims])
    cells[..., binary] = Bernoulli(logits=params[..., lik.bin_dims]).log_prob(
        x[..., lik.bin_dims].expand_as(params[..., lik.bin_dims])
    )
    for g, col in enumerate(lik.cat_cols.tolist()):
        dims = lik.cat_index[g][lik.cat_valid[g]]
        logits = params[..., dims].masked_fill(lik.cat_never[g][lik.cat_valid[g]], NEVER_LOGIT)
        level = x[..., dims].argmax(-1).expand(logits.shape[:-1])
        cells[..., col] = Categorical(logits=logits).log_prob(level)
    return torch.where(mask, cells, 0.0)


@pytest.mark.parametrize("lead", [(), (4,), (3,)])  # a row, K draws, members
@pytest.mark.parametrize(
    "kinds, widths, never",
    [
        (["continuous", "binary", "categorical", "continuous", "categorical"], [1, 1, 3, 1, 4], []),
        (["categorical", "continuous", "continuous"], [5, 1, 1], [3]),  # one level never seen
        (["binary", "continuous", "binary"], [1, 1, 1], []),
    ],
)
def test_cells_and_their_gradient_are_the_distributions(kinds, widths, never, lead):
    members = 3 if lead == (3,) else None
    lik = Likelihood(kinds, widths, members=members, never=never).double()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        lik.raw_scale.copy_(torch.randn(lik.raw_scale.shape, generator=gen))
    n, width = 12, sum(widths)
    # an ensemble's members see rows of their own; K draws share the rows
    x = torch.randn(*(lead if members else ()), n, width, generator=gen, dtype=torch.float64)
    start = 0
    for kind, w in zip(kinds, widths, strict=True):
        if kind == "binary":
            x[..., start] = (x[..., start] > 0).double()
        if kind == "categorical":
            level = torch.randint(0, w, x.shape[:-1], generator=gen)
            x[..., start : start + w] = torch.nn.functional.one_hot(level, w).double()
        start += w
    mask = torch.rand(*x.shape[:-1], len(kinds), generator=gen) > 0.3
    params = torch.randn(*lead, n, width, generator=gen, dtype=torch.float64, requires_grad=True)
    ours = lik.log_prob(params, x, mask)
    reference = reference_log_prob(lik, params, x, mask)
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)
    weight = torch.randn(ours.shape, generator=gen, dtype=torch.float64)
    got = torch.autograd.grad((ours * weight).sum(), (params, lik.raw_scale))
    expected = torch.autograd.grad((reference * weight).sum(), (params, lik.raw_scale))
    for a, b in zip(got, expected, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    assert torch.autograd.gradcheck(lambda p: lik.log_prob(p, x, mask), (params,))
    # the training loss: the mean over rows of the negative sum over cells
    reference = reference_log_prob(lik, params, x, mask)
    loss = lik.nll(params, x, mask)
    torch.testing.assert_close(loss, -reference.sum(-1).mean(-1), rtol=1e-12, atol=1e-12)
    weight = torch.randn(loss.shape, generator=gen, dtype=torch.float64)
    got = torch.autograd.grad((loss * weight).sum(), (params, lik.raw_scale))
    expected = torch.autograd.grad(
        (-reference.sum(-1).mean(-1) * weight).sum(), (params, lik.raw_scale)
    )
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    complete = torch.ones_like(mask)  # no cell to leave out: the gradient skips the mask
    assert torch.autograd.gradcheck(lambda p: lik.nll(p, x, complete), (params,))


def test_a_complete_batch_scores_as_a_masked_one_with_every_cell_seen():
    lik = Likelihood(["continuous", "binary", "categorical"], [1, 1, 3])
    gen = torch.Generator().manual_seed(1)
    params = torch.randn(8, 5, generator=gen)
    x = torch.cat(
        [torch.randn(8, 1, generator=gen), torch.ones(8, 1), torch.eye(3)[[0, 1, 2] * 2 + [0, 1]]],
        1,
    )
    full = lik.log_prob(params, x, torch.ones(8, 3, dtype=torch.bool))
    mask = torch.ones(8, 3, dtype=torch.bool)
    mask[0, 0] = False  # one hidden cell: that cell alone becomes 0
    part = lik.log_prob(params, x, mask)
    assert (
        part[0, 0] == 0
        and torch.equal(part[1:], full[1:])
        and torch.equal(part[0, 1:], full[0, 1:])
    )


@pytest.mark.parametrize(
    "kinds, widths, never",
    [
        (
            ["categorical", "continuous", "binary", "categorical", "continuous"],
            [3, 1, 1, 4, 1],
            [6],
        ),
        (["continuous", "categorical", "unit"], [1, 5, 1], []),
        # one large group beside small ones: maxima group by group, not padded
        (["categorical", "continuous", "categorical", "categorical"], [40, 1, 2, 3], [41]),
        # large groups of about one size: group by group as well
        (["categorical", "categorical", "continuous"], [20, 18, 1], [3]),
    ],
)
def test_means_and_cell_errors_group_by_group(kinds, widths, never):
    lik = Likelihood(kinds, widths, never=never)
    gen = torch.Generator().manual_seed(2)
    params = 4 * torch.randn(2, 30, sum(widths), generator=gen)
    mean = lik.mean(params)
    starts = np.cumsum([0, *widths[:-1]])
    target = lik.mean(4 * torch.randn(30, sum(widths), generator=gen))
    errors = lik.cell_errors(mean, target)
    assert errors.shape == (2, 30, len(kinds))
    scores = lik.log_prob(params, target, torch.ones(30, len(kinds), dtype=torch.bool))
    for j, (kind, lo, w) in enumerate(zip(kinds, starts, widths, strict=True)):
        got, p, t = mean[..., lo : lo + w], params[..., lo : lo + w], target[..., lo : lo + w]
        if kind == "categorical":
            logits = p.masked_fill(torch.tensor([lo + k in never for k in range(w)]), NEVER_LOGIT)
            torch.testing.assert_close(got, torch.softmax(logits, -1))
            wrong = got.argmax(-1) != t.argmax(-1)
            # the target's probabilities weigh the levels' log-probabilities
            torch.testing.assert_close(scores[..., j], (t * torch.log_softmax(logits, -1)).sum(-1))
        elif kind == "continuous":
            torch.testing.assert_close(got, p)
            wrong = (got - t).square()[..., 0]
        elif kind == "binary":
            torch.testing.assert_close(got, torch.sigmoid(p))
            wrong = (got > 0.5) != (t > 0.5)
            wrong = wrong[..., 0]
        else:  # a unit cell: its squared error
            wrong = (got - t).square()[..., 0]
        torch.testing.assert_close(errors[..., j], wrong.float())
    if never:  # a level never seen: probability 0
        assert (mean[..., never] == 0).all()


@pytest.mark.parametrize("widths", [[3, 4, 2], [20, 18], [40, 2, 3], [5] * 7, [30]])
def test_groups_padded_and_run_by_run_agree(widths, monkeypatch):
    """Each group's largest level from one padded gather or from its own run (chosen
    by the groups' sizes) is the same to the bit; each group's sums, by a product with
    a 0/1 matrix or run by run, agree with float64's to float32's rounding, and the
    means, the loss and its gradient with them agree to that rounding."""
    kinds = ["categorical"] * len(widths) + ["continuous"]
    gen = torch.Generator().manual_seed(3)
    params = 3 * torch.randn(3, 25, sum(widths) + 1, generator=gen)
    mask = torch.rand(25, len(kinds), generator=gen) < 0.8
    rows = params[1].flip(0)
    got = []
    for large in (1, 10_000):  # every group large (runs), or none (padded, products)
        monkeypatch.setattr(likelihoods, "LARGE_GROUP", large)
        lik = Likelihood(kinds, [*widths, 1], never=[1])
        target = lik.mean(params[0].flip(0))
        errors = lik.cell_errors(rows, target)  # maxima alone: to the bit
        loss, d_params, _ = nll_with_gradient(lik, params, target, mask)
        values = params[..., : sum(widths)].exp()
        sums = lik.group_sums(values)
        torch.testing.assert_close(
            sums.double(), lik.group_sums(values.double()), rtol=1e-6, atol=0
        )
        got.append((errors, lik.mean(params), loss, d_params))
    assert torch.equal(got[0][0], got[1][0])
    for a, b in zip(got[0][1:], got[1][1:], strict=True):
        torch.testing.assert_close(a, b, rtol=2e-6, atol=2e-6)
