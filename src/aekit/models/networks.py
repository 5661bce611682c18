"""Building blocks: the multilayer perceptron used by every model, its
ensemble form (several independent networks evaluated as one batched network),
and the convolutional encoder and decoder used for images.

Every network maps flat rows to flat rows, ``(..., in_dim) → (..., out_dim)``;
the convolutional ones reshape a row to ``(C, H, W)`` inside, so that the
likelihood, masks, corruption and imputation see pixels as the columns of a
table, in row-major (channel, row, column) order.

An *ensemble* module holds ``members`` copies of a network: every parameter has
a leading dimension of size ``members``, inputs are shaped ``(members, n, ...)``
(an input without that dimension is shared by all members; a perceptron also
takes ``(..., members, n, in)``, e.g. K posterior draws), and member ``e`` of
the ensemble is exactly the single network whose parameters are the ``[e]``
slices, weights transposed (see :func:`member_state`). On small networks a
training step costs little more for three members than for one: the time goes
to launching kernels, not to arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# the nonlinearity between layers, by name (ELU: the default; ReLU and leaky ReLU
# cost a tenth of its exponential on a CPU)
ACTIVATIONS = {
    "elu": nn.ELU,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
}

# the gradient of each nonlinearity, (grad, input, output, module) -> grad of its
# input: the kernel autograd runs for it, on the tensor autograd keeps
_GRADIENTS = {
    nn.ELU: lambda g, x, y, f: torch.ops.aten.elu_backward(g, f.alpha, 1, 1, False, x),
    nn.ReLU: lambda g, x, y, f: torch.ops.aten.threshold_backward(g, y, 0),
    nn.LeakyReLU: lambda g, x, y, f: torch.ops.aten.leaky_relu_backward(
        g, x, f.negative_slope, False
    ),
    nn.SiLU: lambda g, x, y, f: torch.ops.aten.silu_backward(g, x),
    nn.Tanh: lambda g, x, y, f: torch.ops.aten.tanh_backward(g, y),
}


def _inference_layout(h: Tensor) -> Tensor:
    """Feature maps laid out channels last outside training: the CPU's forward
    convolutions (oneDNN) run about twice as fast so, on the same values; with
    gradients the backward pass lost as much as the forward gained."""
    return h if torch.is_grad_enabled() else h.contiguous(memory_format=torch.channels_last)


class EnsembleLinear(nn.Module):
    """``members`` independent affine maps, ``y_e = x_e A_e + b_e``.

    ``weight`` is (members, in, out), each ``A_e`` the transpose of an
    ``nn.Linear``'s weight, and ``bias`` (members, 1, out); initialised like
    ``nn.Linear`` (uniform on ±1/√in). Stored so, the weight's gradient comes
    out of the backward product already in its layout: stored as ``nn.Linear``
    stores it, every step copied each gradient into place (8-14% of a small
    table's fit on one CPU thread).
    """

    def __init__(self, members: int, in_dim: int, out_dim: int):
        super().__init__()
        self.members = members
        bound = 1 / math.sqrt(in_dim) if in_dim else 0.0
        weight = torch.empty(members, out_dim, in_dim).uniform_(-bound, bound)
        self.weight = nn.Parameter(weight.transpose(1, 2).contiguous())
        self.bias = nn.Parameter(torch.empty(members, 1, out_dim).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        """(members, n, in) or (n, in) → (members, n, out)."""
        if x.dim() == 2:
            x = x.expand(self.members, *x.shape)
        return torch.baddbmm(self.bias, x, self.weight)


class MLP(nn.Module):
    """Affine maps with a nonlinearity between them (none after the last).

    ``MLP(64, [128, 32], 8)`` is ``64 → 128 → 32 → 8``. The layers are kept in
    ``self.layers`` so that a stacked denoising autoencoder can train them one
    at a time. With ``members``, an ensemble of that many such networks.
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dims: Sequence[int],
        out_dim: int,
        members: int | None = None,
        skip: bool = False,
        activation: str = "elu",
    ):
        super().__init__()
        dims = [in_dim, *hidden_dims, out_dim]
        # skip: an affine map of the input added to the output (a residual network
        # around a linear one; see VAEModule.set_linear_gaussian)
        if skip and members is not None:
            raise ValueError("a skip connection has no batched-ensemble form")
        self.skip = nn.Linear(in_dim, out_dim) if skip else None
        if members is None:
            layers = (nn.Linear(a, b) for a, b in pairwise(dims))
        else:
            layers = (EnsembleLinear(members, a, b) for a, b in pairwise(dims))
        self.layers = nn.ModuleList(layers)
        self.activation = ACTIVATIONS[activation]()
        # whether this is an ensemble's batched network (asked a few times a training
        # step: an attribute, not a property that indexes the ModuleList)
        self.batched = members is not None

    def forward(self, x: Tensor) -> Tensor:
        first = self.layers[0]
        if isinstance(first, EnsembleLinear) and x.dim() > 3:
            # (..., members, n, in), e.g. a VAE's K posterior draws of each member's
            # rows: the draws folded into the rows, for the batched products
            lead, members = x.shape[:-3], first.members
            rows = x.movedim(-3, 0).reshape(members, -1, x.shape[-1])
            out = self(rows).reshape(members, *lead, x.shape[-2], -1)
            return out.movedim(0, -3)
        inputs = x
        for i, layer in enumerate(self.layers):
            if i:
                x = self.activation(x)
            x = layer(x)
        return x if self.skip is None else x + self.skip(inputs)

    def by_hand(self, x: Tensor) -> bool:
        """Whether :meth:`forward_kept` and :meth:`backward_kept` take the batch ``x``:
        (members, n, in) for an ensemble, (n, in) for one network; no skip connection,
        a nonlinearity whose gradient is written out."""
        ok = self.skip is None and type(self.activation) in _GRADIENTS
        return ok and x.dim() == (3 if self.batched else 2)

    def forward_kept(self, x: Tensor, kept: list) -> Tensor:
        """The forward pass (run under ``torch.no_grad()``), appending to ``kept``
        each layer's input before and after its nonlinearity (what
        :meth:`backward_kept` needs); see :meth:`by_hand` for the shapes."""
        batched, act = self.batched, self.activation
        for i, layer in enumerate(self.layers):
            before = x
            if i:
                x = act(x)
            kept.append((before, x))
            if batched:  # (members, n, in) -> (members, n, out)
                x = torch.baddbmm(layer.bias, x, layer.weight)
            else:
                x = F.linear(x, layer.weight, layer.bias)
        return x

    def backward_kept(self, kept: list, grad: Tensor, input_grad: bool = True) -> Tensor | None:
        """Backpropagate ``grad`` (the loss's gradient in the output) through the
        pass :meth:`forward_kept` kept: each layer's weight and bias gradients are
        written to their ``.grad``, by the products autograd would run (the same
        values to the bit); returns the gradient in the input, if ``input_grad``."""
        layers, act = list(self.layers), self.activation  # (a ModuleList's [i] is slow)
        batched = self.batched
        for i in range(len(layers) - 1, -1, -1):
            layer, (before, x) = layers[i], kept[i]
            if batched:  # weight (members, in, out), bias (members, 1, out)
                layer.weight.grad = torch.bmm(x.transpose(1, 2), grad)
                layer.bias.grad = grad.sum(1, keepdim=True)
            else:  # nn.Linear: weight (out, in), bias (out,)
                layer.weight.grad = grad.t().mm(x)
                layer.bias.grad = grad.sum(0)
            if not (i or input_grad):
                return None
            if batched:
                grad = torch.bmm(grad, layer.weight.transpose(1, 2))
            else:
                grad = grad.mm(layer.weight)
            if i:
                grad = _GRADIENTS[type(act)](grad, before, x, act)
        return grad


def conv_sizes(height: int, width: int, n_layers: int) -> list[tuple[int, int]]:
    """Feature-map sizes of ``n_layers`` 3x3 stride-2 convolutions with padding 1:
    ``[(H, W), (⌈H/2⌉, ⌈W/2⌉), ...]``, length ``n_layers + 1``."""
    sizes = [(height, width)]
    for _ in range(n_layers):
        h, w = sizes[-1]
        sizes.append(((h + 1) // 2, (w + 1) // 2))
    return sizes


class ConvEncoder(nn.Module):
    """Image rows → vectors: 3x3 stride-2 convolutions with ELU, then an affine map.

    ``ConvEncoder((1, 8, 8), 1, [32, 64], 16)`` is
    ``1x8x8 → 32x4x4 → 64x2x2 → 16``. The input is a flat row of
    ``in_channels · H · W`` values (the image's channels, then any extra
    channels such as the observed-pixel mask), shaped (..., in_channels·H·W).
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        in_channels: int,
        channels: Sequence[int],
        out_dim: int,
        activation: str = "elu",
    ):
        super().__init__()
        _, self.height, self.width = image_shape
        self.in_channels = in_channels
        widths = [in_channels, *channels]
        self.convs = nn.ModuleList(
            nn.Conv2d(a, b, kernel_size=3, stride=2, padding=1) for a, b in pairwise(widths)
        )
        h, w = conv_sizes(self.height, self.width, len(channels))[-1]
        self.head = nn.Linear(widths[-1] * h * w, out_dim)
        self.activation = ACTIVATIONS[activation]()

    def forward(self, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        h = x.reshape(-1, self.in_channels, self.height, self.width)  # (N, C_in, H, W)
        h = _inference_layout(h)
        for conv in self.convs:
            h = self.activation(conv(h))
        return self.head(h.flatten(1)).reshape(*lead, -1)


class ConvDecoder(nn.Module):
    """Vectors → image rows: the mirror of :class:`ConvEncoder`.

    An affine map to the encoder's last feature map, 3x3 stride-2 transposed
    convolutions back up to (H, W) (output padding chosen so that odd sizes
    come back exactly), and a 3x3 convolution to ``out_channels``; ELU between
    layers, none after the last. Output shape (..., out_channels·H·W).

    ``upsampling="shuffle"`` stops the transposed convolutions at half the
    resolution and ends with a 3x3 convolution to ``4·out_channels`` there,
    whose channels :class:`torch.nn.PixelShuffle` lays out as 2x2 pixels (the
    extra row or column of an odd size cropped): no feature map at full
    resolution, whose convolutions take most of a CPU's training step.
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        channels: Sequence[int],
        in_dim: int,
        out_channels: int,
        activation: str = "elu",
        upsampling: str = "transposed",
    ):
        super().__init__()
        _, height, width = image_shape
        channels = list(channels) or [out_channels]
        sizes = conv_sizes(height, width, len(channels))
        self.size = sizes[0]
        self.start = (channels[-1], *sizes[-1])
        self.head = nn.Linear(in_dim, channels[-1] * sizes[-1][0] * sizes[-1][1])
        ups, shuffle = [], upsampling == "shuffle"
        for i in reversed(range(int(shuffle), len(channels))):
            (h, w), (h_in, w_in) = sizes[i], sizes[i + 1]
            # a stride-2 transposed 3x3 convolution gives 2s - 1 + output_padding
            pad = (h - (2 * h_in - 1), w - (2 * w_in - 1))
            c_out = channels[max(i - 1, 0)]
            ups.append(nn.ConvTranspose2d(channels[i], c_out, 3, 2, 1, output_padding=pad))
        self.ups = nn.ModuleList(ups)
        self.out = nn.Conv2d(channels[0], out_channels * 4**shuffle, kernel_size=3, padding=1)
        self.shuffle = nn.PixelShuffle(2) if shuffle else None
        self.activation = ACTIVATIONS[activation]()

    def forward(self, z: Tensor) -> Tensor:
        lead = z.shape[:-1]
        h = self.activation(self.head(z.reshape(-1, z.shape[-1]))).reshape(-1, *self.start)
        h = _inference_layout(h)
        for up in self.ups:
            h = self.activation(up(h))
        h = self.out(h)
        if self.shuffle is not None:
            h = self.shuffle(h)[..., : self.size[0], : self.size[1]]
        return h.flatten(1).reshape(*lead, -1)


def networks(
    in_dim: int,
    hidden_dims: Sequence[int],
    code_dim: int,
    latent_dim: int,
    out_dim: int,
    members: int | None = None,
    image_shape: Sequence[int] | None = None,
    skip: bool = False,
    activation: str = "elu",
    upsampling: str = "transposed",
) -> tuple[nn.Module, nn.Module]:
    """An encoder ``in_dim → hidden_dims → code_dim`` and the decoder mirroring it,
    ``latent_dim → reversed(hidden_dims) → out_dim``: multilayer perceptrons (an
    ensemble of ``members``), or for ``image_shape = (C, H, W)`` a
    :class:`ConvEncoder` and :class:`ConvDecoder` whose ``hidden_dims`` are channel
    counts (``in_dim`` and ``out_dim`` multiples of H·W). ``skip``: perceptrons
    with an affine skip connection; ``activation``: a name of :data:`ACTIVATIONS`;
    ``upsampling``: the convolutional decoder's, "transposed" or "shuffle"."""
    if image_shape is None:
        encoder = MLP(in_dim, hidden_dims, code_dim, members, skip, activation)
        decoder = MLP(latent_dim, list(hidden_dims)[::-1], out_dim, members, skip, activation)
        return encoder, decoder
    if members is not None:
        raise ValueError("convolutional networks have no batched-ensemble form")
    _, h, w = image_shape
    encoder = ConvEncoder(image_shape, in_dim // (h * w), hidden_dims, code_dim, activation)
    out = out_dim // (h * w)
    return encoder, ConvDecoder(image_shape, hidden_dims, latent_dim, out, activation, upsampling)


class EncoderDecoder(nn.Module):
    """What the autoencoder and the VAE share: the observation model of a row
    (``likelihood``), an encoder from ``in_dim`` inputs to ``code_dim`` outputs
    (the code, or a posterior's parameters) and the decoder mirroring it, from
    ``latent_dim`` to the likelihood's parameters (see :func:`networks`). A
    subclass gives ``encode(x, mask)``."""

    def __init__(
        self,
        likelihood: nn.Module,
        in_dim: int,
        hidden_dims: Sequence[int],
        code_dim: int,
        latent_dim: int,
        members: int | None = None,
        image_shape: Sequence[int] | None = None,
        skip: bool = False,
        activation: str = "elu",
        upsampling: str = "transposed",
    ):
        super().__init__()
        self.likelihood = likelihood
        self.members = members
        out_dim = likelihood.width
        self.encoder, self.decoder = networks(
            in_dim,
            hidden_dims,
            code_dim,
            latent_dim,
            out_dim,
            members,
            image_shape,
            skip,
            activation,
            upsampling,
        )

    def decode(self, z: Tensor) -> Tensor:
        """(..., latent_dim) → likelihood parameters (..., width)."""
        return self.decoder(z)

    def reconstruct(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """The expected row given the row's code, in encoded space, (n, width)."""
        return self.likelihood.mean(self.decode(self.encode(x, mask)))


def member_state(ensemble: nn.Module, single: nn.Module, e: int) -> dict[str, Tensor]:
    """The state dict of ``single`` (a one-network module) holding member ``e`` of
    ``ensemble`` (the same module built with ``members``): parameters are the
    ``[e]`` slices (an :class:`EnsembleLinear`'s weight transposed), buffers are
    shared."""
    target = single.state_dict()
    params = dict(ensemble.named_parameters())
    transposed = {
        f"{name}.weight" for name, m in ensemble.named_modules() if isinstance(m, EnsembleLinear)
    }
    out = {}
    for name, value in ensemble.state_dict().items():
        if name not in target:
            raise KeyError(f"{name} of the ensemble has no counterpart in the single module")
        if name in params:
            part = value[e].T if name in transposed else value[e]
            out[name] = part.reshape(target[name].shape).clone()
        else:
            out[name] = value.clone()
    return out


def select_members(ensemble: nn.Module, index: Tensor) -> None:
    """Keep members ``index`` of ``ensemble`` (in that order), in place: every
    parameter becomes its ``[index]`` slices (the same Parameter objects, so an
    optimiser holding them still does), and every part's member count follows.
    A member no longer trained then costs no arithmetic; ``index`` may also
    repeat members, e.g. to give a reduced ensemble its full size back before
    loading a full state dict."""
    with torch.no_grad():
        for p in ensemble.parameters():
            p.data = p.data[index]
    for part in ensemble.modules():
        if isinstance(getattr(part, "members", None), int):
            part.members = len(index)
