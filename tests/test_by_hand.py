"""A perceptron's training gradients written out (``AEModule.loss_and_gradients``):
the same loss and the same gradients as autograd's, to the bit, and the loop
that takes them fits the same weights."""

import pytest
import torch

from aekit import Autoencoder
from aekit.data.rows import TensorRows
from aekit.models import AEModule, Likelihood
from aekit.models.corruption import Corruption
from aekit.models.nll import nll_with_gradient
from aekit.training import loop

# a continuous, a binary, a categorical of three levels and a continuous column
KINDS, WIDTHS = ["continuous", "binary", "categorical", "continuous"], [1, 1, 3, 1]


def rows(n: int, members: int | None, seed: int = 0):
    """(x, mask) of n encoded rows (with a leading members axis for an ensemble),
    about a fifth of the cells missing."""
    g = torch.Generator().manual_seed(seed)
    lead = (members, n) if members else (n,)
    x = torch.randn(*lead, 6, generator=g)
    x[..., 1] = (x[..., 1] > 0).float()
    level = torch.randint(0, 3, lead, generator=g)
    x[..., 2:5] = torch.nn.functional.one_hot(level, 3).float()
    mask = torch.rand(*lead, 4, generator=g) > 0.2
    return x, mask


def module(members=None, activation="elu", noise="masking", bins=4, kinds=KINDS, widths=WIDTHS):
    torch.manual_seed(1)
    lik = Likelihood(kinds, widths, members=members)
    fill = torch.zeros(lik.width)
    high = torch.ones(lik.width)
    corruption = None
    if noise is not None:
        column_of_dim = torch.repeat_interleave(torch.arange(len(widths)), torch.tensor(widths))
        corruption = Corruption(noise, 0.25, column_of_dim, fill, -high, high)
    out = AEModule(
        lik,
        [8, 6],
        3,
        corruption,
        mask_input=True,
        members=members,
        activation=activation,
        numeric_bins=bins,
    )
    if out.bins is not None:
        x, mask = rows(40, None, seed=5)
        out.bins.fit(x[:, : lik.width], mask[:, : lik.n_columns])
    return out.train()


def both(net: AEModule, x, mask):
    """(loss, {name: grad}) by autograd, then by hand, from the same random state."""
    out = []
    for by_hand in (False, True):
        torch.manual_seed(7)  # the same corruption draws
        for p in net.parameters():
            p.grad = None
        if by_hand:
            loss = net.loss_and_gradients(x, mask)["loss"]
        else:
            loss = net.loss(x, mask)["loss"]
            loss.sum().backward()
            loss = loss.detach()
        out.append((loss, {k: p.grad for k, p in net.named_parameters()}))
    return out


@pytest.mark.parametrize("members", [None, 3])
@pytest.mark.parametrize("activation", ["elu", "relu", "leaky_relu", "silu", "tanh"])
def test_gradients_by_hand_equal_autograd_for_every_nonlinearity(members, activation):
    net = module(members, activation)
    x, mask = rows(12, members)
    assert net.gradients_by_hand(x)
    (loss_a, grads_a), (loss_h, grads_h) = both(net, x, mask)
    assert torch.equal(loss_a, loss_h)
    assert grads_h.keys() == grads_a.keys() and len(grads_h) == 2 * 6 + 1
    for name, grad in grads_a.items():
        assert torch.equal(grads_h[name], grad), name
        assert grads_h[name].shape == dict(net.named_parameters())[name].shape


@pytest.mark.parametrize("noise", [None, "gaussian", "salt_pepper"])
def test_gradients_by_hand_for_every_corruption_and_without_bins(noise):
    net = module(3, noise=noise, bins=0)
    x, mask = rows(10, 3, seed=2)
    (loss_a, grads_a), (loss_h, grads_h) = both(net, x, mask)
    assert torch.equal(loss_a, loss_h)
    for name, grad in grads_a.items():
        assert torch.equal(grads_h[name], grad), name


def test_gradients_by_hand_of_a_row_of_categories_alone():
    # no continuous column: the Gaussian scales get no gradient, as under autograd
    net = module(3, bins=4, kinds=["categorical"], widths=[3])
    x, mask = rows(10, 3, seed=3)
    x, mask = x[..., 2:5], mask[..., 2:3]
    (loss_a, grads_a), (loss_h, grads_h) = both(net, x, mask)
    assert torch.equal(loss_a, loss_h)
    assert grads_a["likelihood.raw_scale"] is None and grads_h["likelihood.raw_scale"] is None
    for name, grad in grads_a.items():
        if grad is not None:
            assert torch.equal(grads_h[name], grad), name


def test_shapes_and_parts_the_written_gradients_do_not_take():
    net = module(3)
    x, _ = rows(5, None)  # an ensemble's batch lacks its members axis
    assert not net.gradients_by_hand(x)
    net.encoder.layers[0].weight.requires_grad_(False)  # a frozen layer
    assert not net.gradients_by_hand(rows(5, 3)[0])


def test_the_loop_fits_the_same_weights_with_gradients_by_hand(mixed_frame, monkeypatch):
    """A fit whose steps take the written-out gradients ends with the weights of the
    same fit through autograd, to the bit (three batched networks, as the
    default imputer trains them)."""
    kw = dict(
        noise="masking",
        mask_input=True,
        numeric_bins=4,
        latent_dim=2,
        hidden_dims=(8,),
        max_epochs=4,
        patience=10,
        validation_fraction=0.0,
        random_state=0,
    )
    calls = []
    seen = AEModule.loss_and_gradients
    monkeypatch.setattr(
        AEModule, "loss_and_gradients", lambda *a: calls.append(1) or seen(*a), raising=True
    )
    by_hand = Autoencoder(**kw).fit_copies(mixed_frame, 3, random_state=0)
    assert calls  # the steps took them
    monkeypatch.setattr(AEModule, "gradients_by_hand", lambda self, x: False)
    calls.clear()
    autograd = Autoencoder(**kw).fit_copies(mixed_frame, 3, random_state=0)
    assert not calls
    for a, b in zip(by_hand, autograd, strict=True):
        state_a, state_b = a.module_.state_dict(), b.module_.state_dict()
        assert state_a.keys() == state_b.keys()
        for name in state_a:
            assert torch.equal(state_a[name], state_b[name]), name


def test_autocast_keeps_autograd(monkeypatch):
    # under autocast the products run in bfloat16: the loop leaves them to autograd
    net = module(3)
    x, mask = rows(16, None)
    settings = loop.TrainSettings(
        batch_size=8, max_epochs=1, learning_rate=1e-3, patience=1, autocast=torch.bfloat16
    )
    monkeypatch.setattr(
        AEModule, "loss_and_gradients", lambda *a: pytest.fail("by hand under autocast")
    )
    loop.train(net, TensorRows(x, mask), None, settings)


@pytest.mark.parametrize(
    "kinds, widths, never",
    [
        # two groups of unequal width (a padded gather), a level never seen, a binary
        (["categorical", "continuous", "binary", "categorical"], [4, 1, 1, 2], (2,)),
        # one large group beside small ones (maxima over runs), a pixel's unit column
        (["categorical", "unit", "categorical", "categorical"], [9, 1, 2, 2], ()),
        # groups of 16 levels and more, beside a small one: maxima and sums run by run
        (["categorical", "continuous", "categorical", "categorical"], [20, 1, 30, 3], (1,)),
        (["continuous", "continuous", "continuous"], [1, 1, 1], ()),  # one family, a view
        (["binary", "unit"], [1, 1], ()),
    ],
)
@pytest.mark.parametrize("members", [None, 3])
@pytest.mark.parametrize("complete", [False, True])
def test_the_loss_and_its_gradient_in_one_pass_equal_autograds(
    kinds, widths, never, members, complete
):
    """``nll_with_gradient``: the likelihood's loss and gradients without autograd,
    equal to ``Likelihood.nll``'s under autograd, to the bit."""
    lik = Likelihood(kinds, widths, members=members, never=never)
    g = torch.Generator().manual_seed(3)
    lead = (members, 10) if members else (10,)
    params = torch.randn(*lead, lik.width, generator=g)
    x = torch.rand(*lead, lik.width, generator=g)
    at = 0
    for kind, w in zip(kinds, widths, strict=True):
        if kind == "categorical":
            level = torch.randint(0, w - len(never) if at == 0 else w, lead, generator=g)
            x[..., at : at + w] = torch.nn.functional.one_hot(level, w).float()
        elif kind == "binary":
            x[..., at] = (x[..., at] > 0.5).float()
        elif kind == "continuous":
            x[..., at] = torch.randn(lead, generator=g)
        at += w
    mask = torch.rand(*lead, len(kinds), generator=g) > (0 if complete else 0.3)
    with torch.no_grad():
        lik.raw_scale.add_(torch.randn(lik.raw_scale.shape, generator=g))
    leaf = params.clone().requires_grad_()
    loss = lik.nll(leaf, x, mask)
    loss.sum().backward()
    with torch.no_grad():
        loss_h, d_params, d_raw = nll_with_gradient(lik, params, x, mask)
    assert torch.equal(loss.detach(), loss_h)
    assert torch.equal(leaf.grad, d_params)
    if lik._has_cont:
        assert torch.equal(lik.raw_scale.grad, d_raw)
    else:
        assert d_raw is None
