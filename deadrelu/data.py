"""Data sets of the course: always seeded, always with a held-out split.

Introduced in notebook 02_how_units_die and used by every notebook after it. Nothing is
downloaded: the digits ship with scikit-learn, the synthetic sets are drawn from a
`torch.Generator` seeded by `seed`, so the same arguments give the same tensors.

Every loader returns a `DataSplit`: X is float32 (examples x features), y is int64 with
the class labels 0 .. n_classes-1. The split is stratified: each class keeps its share in
the test set (scikit-learn's `train_test_split(..., stratify=y, random_state=seed)`).
"""

import math
from dataclasses import dataclass

import torch


@dataclass
class DataSplit:
    """A training set and a held-out test set, as tensors (X float32, y int64)."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def n_features(self) -> int:
        """Numbers per example: 64 for the digits, flat (N, 64) or as images (N, 1, 8, 8)."""
        return self.X_train[0].numel()

    @property
    def n_classes(self) -> int:
        """Number of classes, largest label + 1 (labels are 0 .. n_classes-1)."""
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def __repr__(self) -> str:
        shape = " x ".join(str(s) for s in self.X_train.shape[1:])
        return (
            f"DataSplit(train: {len(self.X_train)} examples, test: {len(self.X_test)} examples, "
            f"features: {shape}, classes: {self.n_classes})"
        )


def load_digits_split(scaled=True, test_size=0.25, seed=0, images=False, standardized=False) -> DataSplit:
    """scikit-learn's 8x8 digits (1,797 examples, 10 classes), split with `seed`.

    Pixels are integers 0..16. `scaled=True` divides them by 16, so X lies in [0, 1];
    `scaled=False` keeps the raw 0..16 values, the "unscaled inputs" killer of notebook 02.
    `standardized=True` centres every pixel on its training-set mean and divides it by its
    training-set standard deviation (pixels that never vary, such as the corners, are only
    centred), so the inputs are no longer all non-negative (notebooks 02 and 04); the test
    set uses the training set's statistics. X is (N, 64), or (N, 1, 8, 8) for a CNN when
    `images=True`.
    """
    _check_split_arguments(test_size, seed)
    from sklearn.datasets import load_digits  # here, not at the top: scikit-learn takes ~0.8 s to import

    digits = load_digits()
    X = torch.tensor(digits.data, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.int64)
    if scaled:
        X = X / 16.0
    split = _split(X, y, test_size, seed)
    if standardized:
        split = standardize(split)
    if images:
        split = DataSplit(
            split.X_train.reshape(-1, 1, 8, 8), split.y_train, split.X_test.reshape(-1, 1, 8, 8), split.y_test
        )
    return split


def standardize(data: DataSplit) -> DataSplit:
    """Centre every feature on its training-set mean and scale it to unit training-set
    standard deviation (a constant feature is only centred); the test set is transformed with
    the training set's statistics, so nothing about it leaks into training."""
    flat_train = data.X_train.reshape(len(data.X_train), -1)
    mean = flat_train.mean(dim=0)
    std = flat_train.std(dim=0)
    std = torch.where(std > 0, std, torch.ones_like(std))

    def transform(X):
        return ((X.reshape(len(X), -1) - mean) / std).reshape(X.shape).contiguous()

    return DataSplit(transform(data.X_train), data.y_train, transform(data.X_test), data.y_test)


def make_gaussian_blobs(n_samples=1000, n_features=16, n_classes=4, spread=1.0, seed=0, test_size=0.25) -> DataSplit:
    """Gaussian blobs: one centre per class, c_k ~ N(0, I); an example is c_y + spread * N(0, I).

    Classes are balanced (sizes differ by at most one). The data are not centred: their mean
    is the mean of the drawn centres, about N(0, 1/n_classes) per feature, not exactly 0.
    Larger `spread` means more overlap between classes.
    """
    _check_synthetic_arguments(n_samples, n_features, n_classes, test_size, seed)
    if not spread > 0:
        raise ValueError(f"spread must be > 0, got {spread!r}")
    X, y = _blobs(n_samples, n_features, n_classes, spread, seed)
    return _split(X, y, test_size, seed)


def make_positive_inputs(n_samples=1000, n_features=16, n_classes=4, seed=0, test_size=0.25) -> DataSplit:
    """Inputs that are all strictly positive (> 0), like pixels: sigmoid of Gaussian blobs.

    The blobs and the split are those of `make_gaussian_blobs` with the same arguments
    (spread 1), passed through the logistic sigmoid, so every feature lies in (0, 1]. With
    such inputs a unit whose weights are all negative (and no positive bias) never fires:
    the born-dead units of notebook 02.
    """
    _check_synthetic_arguments(n_samples, n_features, n_classes, test_size, seed)
    X, y = _blobs(n_samples, n_features, n_classes, 1.0, seed)
    # sigmoid only reaches 0 below about -88 in float32; the clamp makes "> 0" a guarantee
    X = torch.sigmoid(X).clamp_min(torch.finfo(torch.float32).tiny)
    return _split(X, y, test_size, seed)


def _blobs(n_samples, n_features, n_classes, spread, seed):
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(n_classes, n_features, generator=generator)
    y = torch.arange(n_samples) % n_classes
    y = y[torch.randperm(n_samples, generator=generator)]
    X = centres[y] + spread * torch.randn(n_samples, n_features, generator=generator)
    return X, y


def _split(X, y, test_size, seed) -> DataSplit:
    index = torch.arange(len(y))
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(index.numpy(), test_size=test_size, stratify=y.numpy(), random_state=seed)
    train, test = torch.as_tensor(train), torch.as_tensor(test)
    return DataSplit(X[train].contiguous(), y[train], X[test].contiguous(), y[test])


def _check_split_arguments(test_size, seed):
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) or not 0 < test_size < 1:
        raise ValueError(f"test_size is the held-out share and must be in (0, 1), got {test_size!r}")


def _check_synthetic_arguments(n_samples, n_features, n_classes, test_size, seed):
    _check_split_arguments(test_size, seed)
    for name, value, low in (("n_features", n_features, 1), ("n_classes", n_classes, 2), ("n_samples", n_samples, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    # a stratified split needs every class in both parts (scikit-learn rounds the test size up)
    n_test = math.ceil(test_size * n_samples)
    if min(n_test, n_samples - n_test) < n_classes:
        raise ValueError(
            f"n_samples={n_samples} with test_size={test_size} gives {n_test} test and "
            f"{n_samples - n_test} training examples; each part needs at least n_classes={n_classes}"
        )
