"""Training throughput: aekit against a plain PyTorch loop, and the matmul peak.

Measured in one run, repetitions interleaved (A B C, A B C, ...), medians with
their range:

- the machine's fp32 matrix-multiply rate at the model's shapes: the forward
  product of every layer and the two products of its backward pass, timed
  alone (an upper bound for training);
- aekit's ``Autoencoder`` and ``VAE`` (784 → 512 → 256 → 32 and back, ELU)
  trained on 784-dimensional data, in float32 and with ``precision="bfloat16"``
  (autocast: the products in bfloat16, which CPUs with AVX512-BF16 or AMX and
  GPUs run several times faster);
- the same autoencoder trained by a straightforward PyTorch loop, as a user
  writes it: a ``DataLoader`` over a ``TensorDataset``, ``nn.MSELoss``, Adam;
  and the same loop slicing tensors instead of the DataLoader, in float32 and
  under bfloat16 autocast;
- pythae's and PyOD's autoencoders, when they are installed.

Samples per second count training rows seen (rows x epochs), over the whole
``fit`` for aekit (checking and encoding the data included). Every contender
runs once untimed first (one-time imports and allocations). The fraction of
peak counts forward plus backward as three times the forward matmul FLOPs.

On a GPU (``--device cuda``) every contender trains there: the DataLoader loop
moves each batch from host memory to the device, as such a loop is written;
the slicing loops and aekit hold the rows on the device. Clocks stop after the
device has finished its queued work.

    python benchmarks/throughput.py                  # batch 256 and 1024
    python benchmarks/throughput.py --threads 2 --epochs 3 --repeats 5
    python benchmarks/throughput.py --device cuda --rows 65536
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import os
import sys
import time

import numpy as np
import torch
from torch import nn

import aekit

WIDTHS = (784, 512, 256, 32)


def layer_shapes():
    """(in, out) of every affine map of the autoencoder, encoder then decoder."""
    enc = list(itertools.pairwise(WIDTHS))
    return enc + [(b, a) for a, b in reversed(enc)]


def train_flops_per_row() -> float:
    return 3 * 2 * sum(a * b for a, b in layer_shapes())


def data(n: int, seed: int = 0) -> np.ndarray:
    """Rows near a 32-d subspace, squashed into (0, 1): like flattened images."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 32)).astype(np.float32)
    w = rng.normal(size=(32, 784)).astype(np.float32) / np.sqrt(32)
    X = 1 / (1 + np.exp(-(z @ w))) + 0.01 * rng.normal(size=(n, 784))
    return X.astype(np.float32)


# ------------------------------------------------------------------ contenders
def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a GPU's kernels run asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(batch: int, steps: int = 20, dtype=torch.float32, device="cpu") -> float:
    """GFLOP/s of the training step's products at these shapes, timed alone."""
    device = torch.device(device)
    mats = []
    for a, b in layer_shapes():
        shapes = ((batch, a), (a, b), (batch, b))
        x, w, g = (torch.randn(*shape, device=device).to(dtype) for shape in shapes)
        mats.append((x, w, g))

    def once():
        for x, w, g in mats:
            torch.mm(x, w)  # forward
            torch.mm(g, w.t())  # gradient of the input
            torch.mm(x.t(), g)  # gradient of the weight

    once()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        once()
    synchronize(device)
    seconds = time.perf_counter() - start
    return train_flops_per_row() * batch * steps / seconds / 1e9


def plain_network() -> nn.Module:
    layers = []
    for i, (a, b) in enumerate(layer_shapes()):
        layers.append(nn.Linear(a, b))
        if i not in (len(WIDTHS) - 2, 2 * (len(WIDTHS) - 1) - 1):  # none at code and output
            layers.append(nn.ELU())
    return nn.Sequential(*layers)


def plain_loop(
    X, batch, epochs, *, loader: bool, bf16: bool = False, device="cpu"
) -> tuple[float, float]:
    """(seconds, final MSE): the loop a user writes."""
    device = torch.device(device)
    torch.manual_seed(0)
    net = plain_network().to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    host = torch.from_numpy(X)
    synchronize(device)
    start = time.perf_counter()
    data_t = host.to(device)  # the slicing loop's copy to the device is timed
    for _ in range(epochs):
        if loader:
            batches = torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(host), batch_size=batch, shuffle=True
            )
            batches = (b.to(device) for (b,) in batches)
        else:
            perm = torch.randperm(len(data_t), device=device)
            batches = (data_t[perm[s : s + batch]] for s in range(0, len(data_t), batch))
        for xb in batches:
            opt.zero_grad()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                out = net(xb)
            loss = loss_fn(out.float(), xb)
            loss.backward()
            opt.step()
    synchronize(device)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        mse = float(loss_fn(net(data_t), data_t))
    return seconds, mse


def aekit_fit(
    X, batch, epochs, *, kind: str, precision="float32", device="cpu"
) -> tuple[float, float]:
    common = dict(
        precision=precision,
        latent_dim=WIDTHS[-1],
        hidden_dims=WIDTHS[1:-1],
        batch_size=batch,
        max_epochs=epochs,
        patience=epochs + 1,
        validation_fraction=0.0,
        learning_rate=1e-3,
        random_state=0,
        device=device,
    )
    model = aekit.Autoencoder(**common) if kind == "ae" else aekit.VAE(**common)
    synchronize(torch.device(device))
    start = time.perf_counter()
    model.fit(X)
    synchronize(torch.device(device))
    seconds = time.perf_counter() - start
    mse = float(np.mean((model.reconstruct(X) - X) ** 2))
    return seconds, mse


def pythae_fit(X, batch, epochs):
    from pythae.models import AE, AEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder

    torch.manual_seed(0)

    class Enc(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.net = plain_network()[:5]

        def forward(self, x):
            return ModelOutput(embedding=self.net(x.reshape(len(x), -1)))

    class Dec(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.net = plain_network()[5:]

        def forward(self, z):
            return ModelOutput(reconstruction=self.net(z))

    from pythae.data.datasets import BaseDataset
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    config = AEConfig(input_dim=(784,), latent_dim=32)
    model = AE(config, encoder=Enc(), decoder=Dec())
    trainer_config = BaseTrainerConfig(
        num_epochs=epochs,
        per_device_train_batch_size=batch,
        learning_rate=1e-3,
        no_cuda=True,
        output_dir="/tmp/aekit-pythae-bench",
        steps_saving=None,
        steps_predict=None,
    )
    dataset = BaseDataset(torch.from_numpy(X), torch.zeros(len(X)))
    with quiet():  # pythae prints its settings and a progress bar per epoch
        trainer = BaseTrainer(model, train_dataset=dataset, training_config=trainer_config)
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
    with torch.no_grad():
        recon = model.decoder(model.encoder(torch.from_numpy(X)).embedding).reconstruction
    return seconds, float(((recon.numpy() - X) ** 2).mean())


def pyod_fit(X, batch, epochs):
    from pyod.models.auto_encoder import AutoEncoder

    model = AutoEncoder(
        hidden_neuron_list=list(WIDTHS[1:]),
        epoch_num=epochs,
        batch_size=batch,
        lr=1e-3,
        dropout_rate=0.0,
        batch_norm=False,
        verbose=0,
        random_state=0,
    )
    start = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - start
    return seconds, float("nan")


@contextlib.contextmanager
def quiet():
    """Silence a peer's own printing and logging (stdout, stderr) while it runs."""
    import logging

    logging.disable(logging.CRITICAL)
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        with contextlib.redirect_stderr(null):
            try:
                yield
            finally:
                logging.disable(logging.NOTSET)


# ------------------------------------------------------------------ the run
def contenders(device: str = "cpu"):
    loop, fit = (
        functools.partial(plain_loop, device=device),
        functools.partial(aekit_fit, device=device),
    )
    out = {
        "DataLoader loop": lambda X, b, e: loop(X, b, e, loader=True),
        "slicing loop": lambda X, b, e: loop(X, b, e, loader=False),
        "slicing loop bfloat16": lambda X, b, e: loop(X, b, e, loader=False, bf16=True),
        "aekit AE": lambda X, b, e: fit(X, b, e, kind="ae"),
        "aekit VAE": lambda X, b, e: fit(X, b, e, kind="vae"),
        "aekit AE bfloat16": lambda X, b, e: fit(X, b, e, kind="ae", precision="bfloat16"),
        "aekit VAE bfloat16": lambda X, b, e: fit(X, b, e, kind="vae", precision="bfloat16"),
    }
    if device != "cpu":  # the peers below train on the CPU
        return out
    for name, module, fn in (("pythae AE", "pythae", pythae_fit), ("PyOD AE", "pyod", pyod_fit)):
        try:
            __import__(module)
        except ImportError:
            print(f"{name}: {module} is not installed; skipped", file=sys.stderr)
            continue
        out[name] = fn
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=16384)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu", help='"cpu", or "cuda" for a GPU')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    X = data(args.rows)
    runs = contenders(args.device)
    where = f"{torch.get_num_threads()} thread(s)"
    if torch.device(args.device).type == "cuda":
        where = f"{torch.cuda.get_device_name(args.device)}"
    print(
        f"{args.rows} rows x 784, {args.epochs} epochs, {args.repeats} interleaved "
        f"repetitions, {where}, torch {torch.__version__}\n"
    )
    warm = X[:2048]
    for fn in runs.values():  # first calls pay one-time imports and allocations: not timed
        fn(warm, 256, 1)
    for batch in args.batches:
        rates = {name: [] for name in ["matmul peak", "bfloat16 peak", *runs]}
        losses = {name: [] for name in runs}
        for _ in range(args.repeats):
            rates["matmul peak"].append(matmul_peak(batch, device=args.device))
            rates["bfloat16 peak"].append(
                matmul_peak(batch, dtype=torch.bfloat16, device=args.device)
            )
            for name, fn in runs.items():
                seconds, mse = fn(X, batch, args.epochs)
                rates[name].append(args.rows * args.epochs / seconds)
                losses[name].append(mse)
        peak = float(np.median(rates["matmul peak"]))
        half = float(np.median(rates["bfloat16 peak"]))
        base = float(np.median(rates["DataLoader loop"]))
        flops = train_flops_per_row()
        print(
            f"batch {batch}: fp32 matmul peak {peak:.1f} GFLOP/s (range "
            f"{min(rates['matmul peak']):.1f}-{max(rates['matmul peak']):.1f}); "
            f"bfloat16 {half:.1f} ({min(rates['bfloat16 peak']):.1f}-"
            f"{max(rates['bfloat16 peak']):.1f})\n"
        )
        print(
            "| trainer | samples/s (median, range) | vs DataLoader loop | of fp32 peak "
            "| of bfloat16 peak | final MSE |"
        )
        print("|---|---|---|---|---|---|")
        for name in runs:
            r = rates[name]
            med = float(np.median(r))
            of_half = f"{med * flops / 1e9 / half:.0%}" if "bfloat16" in name else "-"
            print(
                f"| {name} | {med:,.0f} ({min(r):,.0f}-{max(r):,.0f}) | {med / base:.2f}x "
                f"| {med * flops / 1e9 / peak:.0%} | {of_half} | {np.median(losses[name]):.4f} |"
            )
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
