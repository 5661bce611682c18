"""The training loop's Adam against ``torch.optim.Adam``: the same weights to the bit."""

from __future__ import annotations

import pytest
import torch

from aekit.training import adam as adam_module
from aekit.training.adam import Adam


def _params(seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shapes = [(3, 5, 4), (3, 1, 4), (4,), (2, 7)]
    return [torch.randn(s, generator=g).requires_grad_() for s in shapes]


def _grads(params, step: int, skip=()) -> list[torch.Tensor | None]:
    g = torch.Generator().manual_seed(100 + step)
    return [None if i in skip else torch.randn(p.shape, generator=g) for i, p in enumerate(params)]


def _torch_step(optimiser, params, grads, lr):
    for group in optimiser.param_groups:
        group["lr"] = lr
    for p, g in zip(params, grads, strict=True):
        p.grad = g
    optimiser.step()


@pytest.mark.parametrize("fused", [True, False])
def test_the_same_weights_as_torch_optim_adam_at_changing_step_sizes(fused):
    ours, theirs = _params(), _params()
    adam = Adam(ours, lr=1e-2)
    adam.fused = adam.fused and fused  # the foreach update where there is no fused kernel
    reference = torch.optim.Adam(theirs, lr=1e-2, fused=adam.fused, foreach=not adam.fused)
    for step in range(7):
        lr = 1e-2 / (1 + step)
        adam.step(_grads(ours, step), lr)
        _torch_step(reference, theirs, _grads(theirs, step), lr)
    for p, q, start in zip(ours, theirs, _params(), strict=True):
        assert torch.equal(p, q)
        assert not torch.equal(p, start)  # it moved them


def test_a_parameter_without_a_gradient_is_left_alone_as_torch_leaves_it():
    ours, theirs = _params(), _params()
    adam, reference = Adam(ours, lr=1e-2), torch.optim.Adam(theirs, lr=1e-2, fused=True)
    for step in range(6):
        skip = (1,) if step in (2, 3) else ((0, 2) if step == 0 else ())
        adam.step(_grads(ours, step, skip))
        _torch_step(reference, theirs, _grads(theirs, step, skip), 1e-2)
    for p, q in zip(ours, theirs, strict=True):
        assert torch.equal(p, q)
    counts = [float(reference.state[p]["step"]) for p in theirs]
    assert [float(s) for s in adam.steps] == counts == [5, 4, 5, 6]


def test_kept_members_step_on_with_their_own_moments():
    """After ``keep``, the members left step as they would have in the whole set."""
    index = torch.tensor([0, 2])
    whole = _params()[:2]
    part = [p.detach()[index].clone().requires_grad_() for p in whole]
    adam_whole, adam_part = Adam(whole, lr=1e-2), Adam(part, lr=1e-2)
    for step in range(5):
        grads = _grads(_params()[:2], step)  # (3, ...) each
        adam_part.step([g[index] for g in grads])
        if step < 3:
            adam_whole.step(grads)
            continue
        if step == 3:  # the middle member leaves
            adam_whole.keep(index)
            adam_whole.params = [p.detach()[index].clone().requires_grad_() for p in whole]
        adam_whole.step([g[index] for g in grads])
    for p, q in zip(adam_whole.params, part, strict=True):
        assert torch.equal(p, q)


def test_a_state_dict_resumes_the_same_steps_and_loads_torch_optim_adams():
    params = _params()
    adam = Adam(params, lr=1e-2)
    for step in range(3):
        adam.step(_grads(params, step))
    saved = adam.state_dict()
    assert sorted(saved["state"]) == [0, 1, 2, 3] and float(saved["state"][2]["step"]) == 3
    resumed_params = [p.detach().clone().requires_grad_() for p in params]
    resumed = Adam(resumed_params, lr=1e-2)
    resumed.load_state_dict(saved)
    assert resumed.shared == adam.shared
    for step in range(3, 6):
        adam.step(_grads(params, step))
        resumed.step(_grads(resumed_params, step))
    for p, q in zip(params, resumed_params, strict=True):
        assert torch.equal(p, q)
    # torch.optim.Adam's state_dict (a checkpoint written before this class)
    theirs = _params()
    reference = torch.optim.Adam(theirs, lr=1e-2, fused=True)
    for step in range(3):
        _torch_step(reference, theirs, _grads(theirs, step), 1e-2)
    ours = [p.detach().clone().requires_grad_() for p in theirs]
    loaded = Adam(ours, lr=1e-2)
    loaded.load_state_dict(reference.state_dict())
    loaded.step(_grads(ours, 3))
    _torch_step(reference, theirs, _grads(theirs, 3), 1e-2)
    for p, q in zip(ours, theirs, strict=True):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="for 2 parameter"):
        Adam(params[:2], lr=1e-2).load_state_dict(saved)


def test_steps_in_inference_mode_keep_a_state_that_resumes_and_narrows_outside_it():
    """The loop steps with written-out gradients in inference mode: the moments and
    counts made there are ordinary tensors, which a later step, a member's
    narrowing and a resumed checkpoint update outside it, with torch's weights."""
    ours, theirs = _params(), _params()
    adam, reference = Adam(ours, lr=1e-2), torch.optim.Adam(theirs, lr=1e-2, fused=True)
    for step in range(4):
        skip = (1,) if step == 2 else ()  # the step counts kept apart, in inference mode
        with torch.inference_mode():
            adam.step(_grads(ours, step, skip))
        _torch_step(reference, theirs, _grads(theirs, step, skip), 1e-2)
    state = [*adam.exp_avg, *adam.exp_avg_sq, *adam.steps]
    assert not any(t.is_inference() for t in state)
    adam.step(_grads(ours, 4))  # outside inference mode: in place on the same moments
    _torch_step(reference, theirs, _grads(theirs, 4), 1e-2)
    for p, q in zip(ours, theirs, strict=True):
        assert torch.equal(p, q)
    resumed = Adam([p.detach().clone().requires_grad_() for p in ours], lr=1e-2)
    resumed.load_state_dict(adam.state_dict())
    resumed.step(_grads(ours, 5))
    adam.keep(torch.tensor([0, 1]))
    assert adam.exp_avg[0].shape == (2, 5, 4) and not adam.exp_avg[0].is_inference()


def test_a_torch_whose_fused_kernel_takes_other_arguments_steps_by_its_functional_adam(
    monkeypatch,
):
    ours, theirs = _params(), _params()
    reference = torch.optim.Adam(theirs, lr=1e-2, fused=True)
    for step in range(3):
        _torch_step(reference, theirs, _grads(theirs, step), 1e-2)
    adam = Adam(ours, lr=1e-2)
    adam.step(_grads(ours, 0))

    class ChangedTorch:  # torch, but its fused kernel takes other arguments
        def __getattr__(self, name):
            return getattr(torch, name)

        @staticmethod
        def _fused_adam_(*args, **kwargs):
            raise TypeError("_fused_adam_() got an unexpected keyword argument")

    monkeypatch.setattr(adam_module, "torch", ChangedTorch())
    for step in (1, 2):
        adam.step(_grads(ours, step))
    assert not adam.shared and [float(s) for s in adam.steps] == [3.0] * 4
    for p, q in zip(ours, theirs, strict=True):
        assert torch.equal(p, q)
