"""deadrelu.data: the digits and the synthetic sets, seeded and split."""

import math

import pytest
import torch

from deadrelu.data import DataSplit, load_digits_split, make_gaussian_blobs, make_positive_inputs


def all_tensors(split):
    return (split.X_train, split.y_train, split.X_test, split.y_test)


def same_split(a, b):
    return all(torch.equal(s, t) for s, t in zip(all_tensors(a), all_tensors(b)))


@pytest.fixture(scope="module")
def digits():
    return load_digits_split()


def test_digits_shapes_dtypes_and_total(digits):
    assert digits.X_train.shape == (1347, 64) and digits.X_test.shape == (450, 64)
    assert digits.X_train.dtype == digits.X_test.dtype == torch.float32
    assert digits.y_train.dtype == digits.y_test.dtype == torch.int64
    assert len(digits.y_train) + len(digits.y_test) == 1797
    assert (digits.n_features, digits.n_classes) == (64, 10)
    assert repr(digits) == "DataSplit(train: 1347 examples, test: 450 examples, features: 64, classes: 10)"


def test_digits_split_is_stratified(digits):
    y = torch.cat([digits.y_train, digits.y_test])
    overall = torch.bincount(y, minlength=10)
    in_test = torch.bincount(digits.y_test, minlength=10)
    assert (in_test > 0).all(), "a class is missing from the test set"
    # stratified: each class's test count is its share of the 450 test examples, to within rounding
    assert (in_test - overall * 450 / 1797).abs().max() <= 1


def test_digits_scaled_lies_in_unit_interval_and_raw_keeps_pixels_0_to_16(digits):
    raw = load_digits_split(scaled=False)
    assert digits.X_train.min() == 0 and digits.X_train.max() == 1
    assert raw.X_train.max() == 16 and torch.equal(raw.X_train, raw.X_train.round())
    assert torch.allclose(raw.X_train / 16, digits.X_train), "scaling must not change the split"
    assert torch.equal(raw.y_test, digits.y_test)


def test_digits_split_depends_on_seed_only(digits):
    assert same_split(load_digits_split(seed=0), digits)
    other = load_digits_split(seed=1)
    assert not torch.equal(other.y_test, digits.y_test)
    assert len(other.y_test) == len(digits.y_test)


def test_digits_as_images_for_a_cnn(digits):
    images = load_digits_split(images=True)
    assert images.X_train.shape == (1347, 1, 8, 8) and images.X_test.shape == (450, 1, 8, 8)
    assert torch.equal(images.X_train.reshape(-1, 64), digits.X_train)
    assert images.n_features == 64


def test_test_size_sets_the_held_out_share():
    split = load_digits_split(test_size=0.5)
    assert len(split.y_test) == math.ceil(0.5 * 1797)


@pytest.mark.parametrize("make", [make_gaussian_blobs, make_positive_inputs])
def test_synthetic_sets_are_deterministic_per_seed(make):
    a, b, c = make(n_samples=200, seed=3), make(n_samples=200, seed=3), make(n_samples=200, seed=4)
    assert same_split(a, b)
    assert not torch.equal(a.X_train, c.X_train)


@pytest.mark.parametrize("make", [make_gaussian_blobs, make_positive_inputs])
def test_synthetic_sets_have_the_asked_shape_and_balanced_classes(make):
    split = make(n_samples=400, n_features=5, n_classes=4, seed=0)
    assert split.X_train.shape == (300, 5) and split.X_test.shape == (100, 5)
    assert split.X_train.dtype == torch.float32 and split.y_train.dtype == torch.int64
    assert split.n_classes == 4 and split.n_features == 5
    counts = torch.bincount(torch.cat([split.y_train, split.y_test]))
    assert counts.tolist() == [100, 100, 100, 100]
    assert (torch.bincount(split.y_test, minlength=4) > 0).all()


def test_blobs_within_class_spread_matches_the_argument():
    split = make_gaussian_blobs(n_samples=2000, n_features=8, n_classes=4, spread=2.0, seed=0)
    X, y = torch.cat([split.X_train, split.X_test]), torch.cat([split.y_train, split.y_test])
    residuals = torch.cat([X[y == k] - X[y == k].mean(0) for k in range(4)])
    n = residuals.numel()
    # sample variance of n normals has relative std sqrt(2/n); 5 sigma band
    assert abs(residuals.var().item() / 4.0 - 1) < 5 * math.sqrt(2 / n)


def test_positive_inputs_are_strictly_positive_and_at_most_one():
    split = make_positive_inputs(n_samples=2000, n_features=32, seed=0)
    for X in (split.X_train, split.X_test):
        assert (X > 0).all() and (X <= 1).all()


def test_positive_inputs_are_the_blobs_through_a_sigmoid():
    blobs, positive = make_gaussian_blobs(seed=7), make_positive_inputs(seed=7)
    assert torch.equal(blobs.y_test, positive.y_test)
    assert torch.allclose(torch.sigmoid(blobs.X_train), positive.X_train)


def test_a_unit_with_negative_weights_never_fires_on_positive_inputs():
    """What the set is for: the born-dead unit of notebook 02."""
    X = make_positive_inputs(n_samples=400, seed=0).X_train
    w = -torch.rand(X.shape[1]) - 0.01
    assert (torch.relu(X @ w) == 0).all()


@pytest.mark.parametrize("test_size", [0, 1, 1.5, -0.1, True])
def test_test_size_outside_0_1_is_refused(test_size):
    with pytest.raises(ValueError, match="test_size .* in \\(0, 1\\)"):
        make_gaussian_blobs(test_size=test_size)
    with pytest.raises(ValueError, match="test_size"):
        load_digits_split(test_size=test_size)


def test_bad_synthetic_arguments_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="n_classes must be an int >= 2, got 1"):
        make_positive_inputs(n_classes=1)
    with pytest.raises(ValueError, match="n_features must be an int >= 1"):
        make_gaussian_blobs(n_features=0)
    with pytest.raises(ValueError, match="spread must be > 0"):
        make_gaussian_blobs(spread=0.0)
    with pytest.raises(ValueError, match="each part needs at least n_classes=4"):
        make_gaussian_blobs(n_samples=10, n_classes=4)
    with pytest.raises(TypeError, match="seed must be an int"):
        load_digits_split(seed=1.5)


def test_datasplit_is_a_plain_dataclass():
    split = DataSplit(torch.zeros(3, 2), torch.tensor([0, 1, 2]), torch.zeros(1, 2), torch.tensor([1]))
    assert (split.n_features, split.n_classes) == (2, 3)


def test_standardized_digits_are_centred_with_training_statistics_only():
    plain = load_digits_split(seed=0)
    standard = load_digits_split(standardized=True, seed=0)
    assert torch.equal(plain.y_train, standard.y_train) and torch.equal(plain.y_test, standard.y_test)
    mean, std = standard.X_train.mean(dim=0), standard.X_train.std(dim=0)
    assert mean.abs().max() < 1e-5
    constant = plain.X_train.std(dim=0) == 0  # e.g. the top-left corner pixel is 0 in every training image
    assert constant.any() and torch.allclose(std[~constant], torch.ones_like(std[~constant]), atol=1e-5)
    assert (standard.X_train < 0).any()  # no longer all non-negative
    expected_test = (plain.X_test - plain.X_train.mean(dim=0)) / torch.where(constant, 1.0, plain.X_train.std(dim=0))
    assert torch.allclose(standard.X_test, expected_test, atol=1e-5)  # the test set uses the training set's statistics
    images = load_digits_split(standardized=True, images=True, seed=0)
    assert images.X_train.shape[1:] == (1, 8, 8) and torch.equal(
        images.X_train.reshape(len(images.X_train), -1), standard.X_train
    )
