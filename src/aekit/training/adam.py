"""Adam for the training loop: its moments, and one update a step.

``torch.optim.Adam.step`` gathers every parameter's state into lists and runs
its hooks before each update, and on a CPU its step counters are one small
tensor a parameter, each counted up by its own kernel; on a small network's
step (a few hundred microseconds) that bookkeeping is a tenth of the time.
Constructing the first ``torch.optim`` optimiser of a process also imports
torch's compiler stack (over a second, for a fit that may take two). This
class keeps the state as lists once, counts the steps in one tensor shared by
every parameter, and calls the update ``torch.optim.Adam(fused=True)`` makes:
the same weights to the bit (``tests/test_adam.py``). Where this torch or
device has no fused kernel, the update is torch's functional ``foreach`` Adam.

Its :meth:`state_dict` has ``torch.optim.Adam``'s layout, so checkpoints
written before it still resume.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.optim.adam import adam

try:  # the devices with torch's fused optimiser kernels
    from torch.utils._foreach_utils import _get_fused_kernels_supported_devices
except ImportError:  # an older torch: CUDA alone had them

    def _get_fused_kernels_supported_devices() -> list[str]:
        return ["cuda"]


BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults
EPS = 1e-8


def _fused(params: list[Tensor]) -> bool:
    """Whether the fused update takes these parameters (torch >= 2.4 on a CPU)."""
    devices = _get_fused_kernels_supported_devices()
    return hasattr(torch, "_fused_adam_") and all(
        p.device.type in devices and torch.is_floating_point(p) for p in params
    )


class Adam:
    """Adam (Kingma & Ba 2015) over ``params`` at step size ``lr``, without weight
    decay or AMSGrad, as ``torch.optim.Adam(params, lr, fused=True)`` steps them.

    The moments are made at the first :meth:`step`; :meth:`keep` narrows them
    when members of a batched ensemble leave it. A parameter whose gradient is
    None is left alone, its moments and step count too, as torch's Adam does.
    """

    def __init__(self, params: list[Tensor], lr: float):
        self.params, self.lr = list(params), lr
        self.fused = _fused(self.params)
        self.exp_avg: list[Tensor] | None = None
        self.exp_avg_sq: list[Tensor] = []
        # each parameter's step count; while every step has moved every parameter
        # (and the update is fused), one tensor counts for all, repeated
        self.steps: list[Tensor] = []
        self.shared = False

    # the state is made outside inference mode, where a step may run (the loop's
    # written-out gradients): tensors that checkpoints and narrowing update later
    @torch.inference_mode(False)
    def _start(self, counts=None) -> None:
        def zeros(p):
            return torch.zeros_like(p, memory_format=torch.preserve_format)

        self.exp_avg = [zeros(p) for p in self.params]
        self.exp_avg_sq = [zeros(p) for p in self.params]
        counts = [0.0] * len(self.params) if counts is None else counts
        # where torch.optim.Adam keeps them: float32 on the device when fused, else
        # in the default float type on the CPU
        device = self.params[0].device if self.fused else "cpu"
        dtype = torch.float32 if self.fused else torch.get_default_dtype()
        self.shared = self.fused and len(set(counts)) == 1
        if self.shared:
            self.steps = [torch.tensor(counts[0], dtype=dtype, device=device)] * len(counts)
        else:
            self.steps = [torch.tensor(c, dtype=dtype, device=device) for c in counts]

    @torch.no_grad()
    def step(self, grads: list[Tensor | None], lr: float | None = None) -> None:
        """Update every parameter with its gradient in ``grads`` (``lr``: this step's
        size, else the one given at construction)."""
        if self.exp_avg is None:
            self._start()
        lr = self.lr if lr is None else lr
        params, exp_avg, exp_avg_sq, steps = self.params, self.exp_avg, self.exp_avg_sq, self.steps
        if any(g is None for g in grads):
            if self.shared:
                steps = self._count_apart()
            some = [i for i, g in enumerate(grads) if g is not None]
            params, grads, exp_avg, exp_avg_sq, steps = (
                [xs[i] for i in some] for xs in (params, grads, exp_avg, exp_avg_sq, steps)
            )
            if not params:
                return
        beta1, beta2 = BETAS
        hyper = dict(amsgrad=False, beta1=beta1, beta2=beta2, lr=lr, weight_decay=0.0, eps=EPS)
        tensors = (params, grads, exp_avg, exp_avg_sq, [], steps)
        if self.shared:
            # one count for every parameter: one kernel, where torch's functional
            # Adam counts each parameter's up with its own on a CPU
            steps[0].add_(1)
            try:
                torch._fused_adam_(*tensors, maximize=False, **hyper)
                return
            except TypeError:  # a torch whose kernel takes other arguments (none known)
                steps[0].sub_(1)
                tensors = (params, grads, exp_avg, exp_avg_sq, [], self._count_apart())
        adam(*tensors, foreach=not self.fused, fused=self.fused, maximize=False, **hyper)

    @torch.inference_mode(False)
    def _count_apart(self) -> list[Tensor]:
        """One step count a parameter from now on (a step has left one alone, or the
        fused kernel is not to be called directly); the counts."""
        self.steps, self.shared = [s.clone() for s in self.steps], False
        return self.steps

    def keep(self, index: Tensor) -> None:
        """The moments of the members at ``index`` (dimension 0 of every parameter)."""
        if self.exp_avg is not None:
            self.exp_avg = [m[index] for m in self.exp_avg]
            self.exp_avg_sq = [m[index] for m in self.exp_avg_sq]

    def state_dict(self) -> dict:
        """``torch.optim.Adam``'s ``state_dict`` layout (for checkpoints)."""
        state = {}
        if self.exp_avg is not None:
            moments = zip(self.exp_avg, self.exp_avg_sq, self.steps, strict=True)
            for i, (m, v, s) in enumerate(moments):
                state[i] = {"step": s.clone(), "exp_avg": m, "exp_avg_sq": v}
        group = dict(lr=self.lr, betas=BETAS, eps=EPS, weight_decay=0.0, amsgrad=False)
        group.update(fused=self.fused, params=list(range(len(self.params))))
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, saved: dict) -> None:
        """Restore what :meth:`state_dict` (or ``torch.optim.Adam``'s) holds; a
        parameter without state has not stepped yet."""
        state = saved["state"]
        if not state:
            self.exp_avg, self.exp_avg_sq, self.steps, self.shared = None, [], [], False
            return
        if not set(state) <= set(range(len(self.params))):
            raise ValueError(
                f"an optimiser state of parameters {sorted(state)} "
                f"for {len(self.params)} parameter(s)"
            )
        counts = [float(state[i]["step"]) if i in state else 0.0 for i in range(len(self.params))]
        self._start(counts)
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if i in state:
                    self.exp_avg[i].copy_(state[i]["exp_avg"].to(p.device))
                    self.exp_avg_sq[i].copy_(state[i]["exp_avg_sq"].to(p.device))
