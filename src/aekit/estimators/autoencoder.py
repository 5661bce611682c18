"""``aekit.Autoencoder``: the autoencoder, the denoising autoencoder and the
stacked denoising autoencoder as one scikit-learn estimator."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from ..data.rows import TensorRows, encoded
from ..data.table import BINS, sample_rows
from ..data.tabular import TabularEncoder
from ..errors import AekitError
from ..models import AEModule, Corruption
from ..models.corruption import NOISES
from ..training import train
from .base import BaseAutoencoderEstimator
from .capacity import AUTO
from .params import check_choice, check_float, check_int

AUTO_BINS = 16  # numeric_bins="auto": the bins of each number of a table not too wide
BINNED_COLUMNS = 64  # ... of at most this many numeric columns (benchmarks/wide.py)


@dataclass(kw_only=True, repr=False, eq=False)  # writes __init__ from the parameters
class Autoencoder(BaseAutoencoderEstimator):
    """Autoencoder (AE) or denoising autoencoder (DAE) for tabular data.

    The loss is ``-log p(x | x̂)`` over observed cells, with a Gaussian
    (continuous), Bernoulli (binary) or categorical (one-hot) term per column.
    With ``noise`` set, the encoder sees a corrupted row and the loss scores the
    clean one (a DAE). NaN cells are missing: they are skipped by the loss.

    Parameters
    ----------
    latent_dim : int or "auto", default=2
        Width of the bottleneck ``z``. A plain AE needs it smaller than the
        encoded input (else it can learn the identity); a DAE may be overcomplete.
        "auto": the size cross-validated probabilistic PCA chooses on a
        complete numeric table (else half the encoded width, at most 8).
    hidden_dims : tuple of int or "auto", default="auto"
        Encoder widths; the decoder mirrors them. "auto" fits a linear network
        (PCA's subspace) and a perceptron of 64 units on the same rows, keeps
        ``validation_fraction`` of them out (a fifth when it is 0) and chooses
        the one with the higher held-out reconstruction log-likelihood (see
        :mod:`aekit.estimators.capacity`; ``capacity_scores_`` holds the scores).
        Images: the image networks (convolutions of 32 and 64 channels).
    noise : {None, "masking", "gaussian", "salt_pepper"}, default=None
        Corruption of the DAE's input (None: a plain AE).
    noise_level : float, default=0.2
        Masking / salt-and-pepper probability, or Gaussian scale in standard deviations.
    mask_input : bool, default=False
        Also feed the encoder which cells are observed (for missing data: a
        hidden cell is then not mistaken for an observed one equal to the mean).
    numeric_bins : int or "auto", default=0
        Also feed the encoder each numeric cell's piecewise-linear encoding
        over this many quantile bins of its column (Gorishniy et al. 2022; see
        :mod:`aekit.models.bins`), cut at the training rows' observed values (a
        streamed file's first chunk): a perceptron then draws a sharp
        threshold, such as a point mass at zero, with one unit. 0: the values
        alone. Tables only (perceptrons). "auto" (the default imputer's): 16
        bins for a table of at most :data:`BINNED_COLUMNS` numeric columns,
        none for a wider one, whose first layer they would make 17 times as
        wide (``benchmarks/wide.py``); 0 for images.
    pretrain : {None, "stacked"}, default=None
        "stacked": greedy layer-wise pretraining of each layer as a shallow
        DAE, then fine-tuning of the whole network (Vincent et al. 2010).
    architecture : {"auto", "mlp", "conv"}, default="auto"
        "auto" uses convolutional networks for images (X of shape (n, H, W) or
        (n, C, H, W)) and multilayer perceptrons for tables; "mlp" flattens
        images into rows. For "conv", ``hidden_dims`` are the channel counts of
        3x3 stride-2 convolutions (each halves the image's sides).
    activation : {"elu", "relu", "leaky_relu", "silu", "tanh"}, default="elu"
        The nonlinearity between layers. ELU's exponential is most of a small
        network's elementwise work on a CPU; ReLU and leaky ReLU cost a tenth of
        it, but are not smooth: as the imputer's, leaky ReLU took 0.75x ELU's
        time and imputed one table of its benchmark 16% worse (benchmarks/README.md).
    upsampling : {"transposed", "shuffle"}, default="transposed"
        How a convolutional decoder gets back to full resolution: stride-2
        transposed convolutions all the way, then a 3x3 convolution at full
        resolution; or ("shuffle") the last of them replaced by a convolution at
        half resolution whose channels become 2x2 pixels (``nn.PixelShuffle``),
        so that no feature map is computed at full resolution (less arithmetic,
        and the convolutions a CPU runs slowest).
    pixel_likelihood : {"bernoulli", "gaussian"}, default="bernoulli"
        Observation model of a pixel (images only): the Bernoulli cross-entropy
        on intensities in [0, 1] (the usual image-VAE score; ``score_samples``
        is then minus the cross-entropy, not a density on [0, 1]), or a
        Gaussian with a learned scale per pixel.
    batch_size : int or "auto", default="auto"
        "auto" is ``n // 16`` clipped to [32, 256] (and at most n), for n training
        rows: small tables get enough steps per epoch, large ones full batches;
        with ``lr_schedule="cosine"``, ``n // 4`` clipped to [128, 1024]: fewer,
        larger steps (convolutions: 64, whose cost per image on a CPU does not
        fall in larger steps).
    max_epochs : int, default=200
    max_steps : int or None, default=None
        Stop after the epochs that hold about this many steps (at most
        ``max_epochs``): a budget of steps whatever the number of rows. The
        cosine schedule spans those epochs.
    learning_rate : float, default=1e-3
        Adam's step size.
    lr_schedule : {"constant", "cosine", "plateau"}, default="constant"
        "cosine" lowers the step size from ``learning_rate`` to a hundredth of
        it over ``max_epochs`` along a half cosine (Loshchilov & Hutter 2017),
        so that training settles within ``max_epochs`` at a large initial step.
        "plateau" halves it whenever the networks still training have gone
        0.4 ``patience`` epochs without improving (and as many since the last
        cut): they settle into the minimum they found before patience runs out.
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping (0: watch the training loss).
    patience : int, default=10
        Epochs without improvement before training stops; the best weights are kept.
    max_grad_norm : float or None, default=None
        Clip the gradient's norm to this at every step (None: no clipping);
        a guard against rare, very large gradients on extreme rows.
    ema_decay : float in (0, 1) or None, default=None
        Watch and keep, for early stopping, an exponential moving average of
        the weights at the ends of epochs, ``a = ema_decay * a + (1 - ema_decay)
        * w``, instead of the weights themselves (None). Training goes on from
        the weights; the average takes out much of the noise of steps at a
        constant step size. With half the patience it was faster at the same
        error on the imputation benchmark's development tables, but not on all
        of its reporting ones (``benchmarks/README.md``, "Speed and scale").
    random_state : int, RandomState or None, default=None
    verbose : bool, default=False
        Show a progress bar.
    device : str, default="auto"
        "auto" uses CUDA when available. A small table's step is many tiny
        kernels, which a GPU launches more slowly than a CPU computes them:
        for tables up to some thousands of rows "cpu" can be the faster choice
        (``benchmarks/README.md``, "On a GPU").
    precision : {"float32", "bfloat16"}, default="float32"
        "bfloat16" trains under ``torch.autocast``: the networks' products in
        bfloat16, weights, optimiser and likelihood in float32. Faster where
        the products are what a step waits on (CPUs with AVX512-BF16 or AMX;
        large networks and batches on GPUs), slower where kernel launches are
        (small networks on a GPU); a slightly different loss; predictions stay
        in float32.

    Attributes
    ----------
    module_ : aekit.models.AEModule
    encoder_ : aekit.data.tabular.TabularEncoder
    history_ : DataFrame, one row per epoch (with a ``stage`` column when pretrained)
    n_epochs_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str (DataFrames with string column names)

    Examples
    --------
    >>> import numpy as np, aekit
    >>> X = np.random.default_rng(0).normal(size=(200, 5))
    >>> dae = aekit.Autoencoder(latent_dim=2, noise="masking", random_state=0).fit(X)
    >>> dae.transform(X).shape
    (200, 2)
    """

    hidden_dims: tuple | str = "auto"
    noise: str | None = None
    noise_level: float = 0.2
    mask_input: bool = False
    numeric_bins: int | str = 0
    pretrain: str | None = None

    def _check_params(self):
        settings = super()._check_params()
        check_choice("noise", self.noise, (None, *NOISES))
        check_choice("pretrain", self.pretrain, (None, "stacked"))
        if self.numeric_bins != AUTO:
            check_int("numeric_bins", self.numeric_bins, low=0)
        if self.noise in ("masking", "salt_pepper"):
            check_float("noise_level", self.noise_level, 0, 1, high_open=True)
        else:
            check_float("noise_level", self.noise_level, 0, float("inf"), low_open=False)
        return settings

    def _bins(self, encoder: TabularEncoder) -> int:
        """The bins of each number: ``numeric_bins``, with "auto" resolved for the
        table ``encoder`` describes."""
        if self.numeric_bins != AUTO:
            return self.numeric_bins
        wide = len(encoder.continuous) > BINNED_COLUMNS
        return 0 if wide or self._conv_shape() is not None else AUTO_BINS

    def _check_width(self, encoder: TabularEncoder, shape) -> None:
        if self._bins(encoder) and self._conv_shape() is not None:
            raise AekitError(
                f"numeric_bins={self.numeric_bins} encodes a table's numbers for a "
                "perceptron; images go to convolutions: set numeric_bins=0, or "
                "architecture='mlp'"
            )
        if self.pretrain == "stacked" and self._conv_shape() is not None:
            raise AekitError(
                "pretrain='stacked' trains perceptron layers one at a time; for images "
                "set architecture='mlp' with it, or pretrain=None"
            )
        if self.noise is None and self.latent_dim != AUTO and self.latent_dim >= encoder.width:
            raise AekitError(
                f"Autoencoder got {shape[1]} feature(s) (shape={shape}) while a minimum of "
                f"{self.latent_dim + 1} is required: latent_dim={self.latent_dim} must be "
                f"smaller than the encoded input width ({encoder.width}), or a plain "
                "autoencoder can learn the identity; lower latent_dim or set noise"
            )

    def _batches(self, table) -> bool:
        # layer-wise stages are trained one network at a time
        return self.pretrain is None and super()._batches(table)

    def _build_module(self, encoder: TabularEncoder, members: int | None = None) -> AEModule:
        corruption = None
        if self.noise is not None:
            # salt and pepper draw each dimension's extremes over the fitted table
            # (unknown after loading a model file: the saved buffers replace them)
            low, high = (
                torch.zeros(encoder.width) if v is None else torch.from_numpy(v)
                for v in (encoder.low, encoder.high)
            )
            corruption = Corruption(
                self.noise,
                self.noise_level,
                torch.from_numpy(encoder.column_of_dim),
                torch.from_numpy(encoder.fill),
                low,
                high,
            )
        latent_dim, hidden_dims = self._capacity()
        return AEModule(
            self._likelihood(encoder, members),
            hidden_dims,
            latent_dim,
            corruption,
            mask_input=bool(self.mask_input),
            members=members,
            numeric_bins=self._bins(encoder),
            **self._network_args(),
        )

    def _train(self, module: AEModule, rows, validation, settings, monitor=None) -> pd.DataFrame:
        if module.bins is not None:  # the bins' edges: quantiles of the training rows
            module.bins.fit(*first_rows(rows))
        if self.pretrain is None:
            return super()._train(module, rows, validation, settings, monitor)
        stages = []
        n_layers = len(module.encoder.layers)
        for i in range(n_layers):
            stage = module.layerwise(i)
            h = train(stage, rows, validation, settings, description=f"pretrain layer {i + 1}")
            stages.append(h.assign(stage=f"pretrain{i + 1}"))
        h = super()._train(module, rows, validation, settings, monitor)
        stages.append(h.assign(stage="finetune"))
        return pd.concat(stages, ignore_index=True)

    def denoise(self, X):
        """Clean rows: the network's estimate of each row from its noisy version.

        A DAE trained with the kind of noise X carries (``noise="gaussian"`` or
        ``"salt_pepper"``) learns ``E[x | x̃]``; for any autoencoder this is
        :meth:`reconstruct`. Missing cells are filled as well.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        DataFrame (same index, columns, dtypes) or ndarray, like X
        """
        return self.reconstruct(X)

    def _row_log_prob(self, x, mask):
        """Σ_j m_j log p(x_j | x̂): the negative reconstruction loss, (n,).

        Computed by :meth:`float64_module`, so that a row's score does not depend
        on the rows scored with it.
        """
        module = self.float64_module()
        return module.log_prob(x.double(), mask).sum(-1)


def first_rows(rows) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, mask)`` of training rows held in memory, or of a uniform sample of a
    streamed file's, a chunk's worth drawn across the whole file (one pass of its
    own: the training passes keep their cache), the same in every process under
    torchrun. A file sorted by a column would give its first chunk's quantiles,
    one end of the column's range."""
    if isinstance(rows, TensorRows):
        return rows.x, rows.mask
    source = rows.source
    sample = sample_rows(source, source.chunk_rows, 0, BINS)
    if len(sample):
        found = encoded(rows.encoder, sample, rows.device, str(source.path))
        return found.x, found.mask
    width, n_columns = rows.encoder.width, len(rows.encoder.schema)
    return torch.zeros(0, width), torch.zeros(0, n_columns, dtype=torch.bool)
