"""Tests of qGAN training: learning, determinism, exact resume, checkpoints, optimisers, errors.

Problems are tiny (2 assets x 2 qubits, one ansatz repetition, a few dozen epochs) so the
file runs in seconds; quality on real data is measured by benchmarks/bench_bundled_fidelity.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from qiskit.quantum_info import Statevector

from quantum_scenarios.encoding import encode
from quantum_scenarios.errors import EncodingContractError, ModelNotTrainedError
from quantum_scenarios.gan.checkpoints import REQUIRED_KEYS, latest_checkpoint, load_checkpoint
from quantum_scenarios.gan.training import EpochRecord, TrainingResult, train_qgan
from quantum_scenarios.evaluation import kl_divergence
from quantum_scenarios.quantum.circuits import build_generator

COLUMNS = ["epoch", "d_loss", "g_loss", "kl", "js", "fidelity", "grad_norm", "seconds"]


@pytest.fixture(scope="module")
def encoding():
    rng = np.random.default_rng(5)
    x = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.6], [0.6, 1.0]], size=600)
    frame = pd.DataFrame(x + rng.standard_t(3, size=x.shape) * 0.3, columns=["AAA", "BBB"])
    return encode(frame, num_qubits=2, loader="normal")


@pytest.fixture(scope="module")
def generator(encoding):
    return build_generator(encoding.loader, ansatz="ry_cz", reps=2, entanglement="full", seed=3, init_scale=0.3)


def _fast(**kwargs):
    """Small settings shared by most tests."""
    return {"epochs": 12, "batch_size": 64, "discriminator_hidden": (8,), "seed": 1, **kwargs}


def _frame(result: TrainingResult) -> pd.DataFrame:
    return result.history_frame().drop(columns="seconds")


def test_exact_training_learns_and_reports_consistent_metrics(encoding, generator):
    records: list[EpochRecord] = []
    result = train_qgan(encoding, generator, **_fast(epochs=60), progress=records.append)
    frame = result.history_frame()
    assert list(frame.columns) == COLUMNS
    assert frame.epoch.tolist() == list(range(1, 61)) and result.epochs_run == 60
    assert [r.epoch for r in records] == frame.epoch.tolist()
    assert not result.stopped_early and result.seed == 1
    # the generator's distribution is Statevector's of the bound circuit (independent reference)
    reference = Statevector(generator.bind(result.theta)).probabilities()
    np.testing.assert_allclose(result.probabilities, reference, atol=1e-10)
    initial = Statevector(generator.bind(generator.initial_point)).probabilities()
    assert frame.kl.iloc[-1] < 0.7 * kl_divergence(encoding.target, initial)
    assert frame.kl.iloc[-1] == pytest.approx(kl_divergence(encoding.target, reference), rel=1e-9)
    assert np.all(np.isfinite(frame[["d_loss", "g_loss", "grad_norm"]].to_numpy()))
    assert np.all((frame.fidelity > 0) & (frame.fidelity <= 1)) and np.all(frame.js >= 0)
    assert isinstance(result.discriminator, torch.nn.Module)


def test_same_seed_same_history_and_different_seed_differs(encoding, generator):
    first = train_qgan(encoding, generator, **_fast())
    second = train_qgan(encoding, generator, **_fast())
    pd.testing.assert_frame_equal(_frame(first), _frame(second), check_exact=True)
    np.testing.assert_array_equal(first.theta, second.theta)
    other = train_qgan(encoding, generator, **_fast(seed=2))
    assert not np.array_equal(first.theta, other.theta)


def test_global_torch_rng_is_left_untouched(encoding, generator):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_qgan(encoding, generator, **_fast(epochs=2))
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"optimizer": "cobyla", "cobyla_evals": 30, "epochs": 6},
        {"loss": "renyi", "renyi_alpha": 0.5},
        {"loss": "renyi", "renyi_alpha": 0.5, "metrics_every": 2},
        {"executor": "aer", "shots": 128, "epochs": 5},
    ],
    ids=["adam-bce", "cobyla", "renyi", "renyi-metrics-every-2", "aer-shots"],
)
def test_resume_from_checkpoint_equals_uninterrupted_run(tmp_path, encoding, generator, options):
    settings = _fast(**options)
    full = train_qgan(encoding, generator, **settings)
    ckpt = tmp_path / "ckpt"
    partial = train_qgan(encoding, generator, **{**settings, "epochs": 4}, checkpoint_dir=ckpt, checkpoint_every=3)
    assert sorted(p.name for p in ckpt.iterdir()) == ["epoch-000003.pt", "epoch-000004.pt"]  # every 3 + last
    assert partial.epochs_run == 4
    resumed = train_qgan(encoding, generator, **settings, resume_from=ckpt / "epoch-000003.pt")
    np.testing.assert_array_equal(resumed.theta, full.theta)
    pd.testing.assert_frame_equal(_frame(resumed), _frame(full), check_exact=True)
    for a, b in zip(resumed.discriminator.parameters(), full.discriminator.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # a folder resumes from its latest checkpoint
    again = train_qgan(encoding, generator, **settings, resume_from=ckpt)
    np.testing.assert_array_equal(again.theta, full.theta)


def test_checkpoint_is_self_describing(tmp_path, encoding, generator):
    result = train_qgan(encoding, generator, **_fast(epochs=5), checkpoint_dir=tmp_path, checkpoint_every=5)
    path = latest_checkpoint(tmp_path)
    assert path is not None and path.name == "epoch-000005.pt"
    state = load_checkpoint(path)
    assert set(REQUIRED_KEYS) <= set(state)
    assert state["epoch"] == 5
    np.testing.assert_array_equal(state["theta"].numpy(), result.theta)
    assert state["encoding_contract"] == encoding.contract.to_dict()
    assert state["config"]["epochs"] == 5 and state["config"]["discriminator_hidden"] == [8]
    assert set(state["config"]) >= {"executor", "optimizer", "loss", "generator_lr", "betas", "seed", "checkpoint_every"}
    assert state["numpy_rng"]["bit_generator"] == "PCG64"
    assert state["generator_optimizer"]["state"] and state["discriminator_optimizer"]["state"]
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3, 4, 5]
    assert state["parameter_names"] == [p.name for p in generator.parameters]


def test_early_stop_at_kl_tolerance(tmp_path, encoding, generator):
    result = train_qgan(encoding, generator, **_fast(kl_tolerance=10.0), checkpoint_dir=tmp_path, checkpoint_every=5)
    assert result.stopped_early and result.epochs_run == 1 and len(result.history) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["epoch-000001.pt"]  # the stopping epoch is saved
    # resuming with the same tolerance stays stopped; a tighter one continues
    again = train_qgan(encoding, generator, **_fast(kl_tolerance=10.0), resume_from=tmp_path)
    assert again.stopped_early and again.epochs_run == 1
    np.testing.assert_array_equal(again.theta, result.theta)
    more = train_qgan(encoding, generator, **_fast(epochs=3, kl_tolerance=0.0), resume_from=tmp_path)
    assert not more.stopped_early and more.epochs_run == 3


def test_renyi_kl_loss_is_the_kl_of_the_previous_epoch(encoding, generator):
    # with α = 1 the Rényi loss is KL(target‖p) at the parameters before the update,
    # i.e. the KL the previous epoch reported
    frame = train_qgan(encoding, generator, **_fast(loss="renyi", renyi_alpha=1.0)).history_frame()
    np.testing.assert_allclose(frame.g_loss.to_numpy()[1:], frame.kl.to_numpy()[:-1], rtol=1e-8)
    assert frame.kl.iloc[-1] < frame.kl.iloc[0]


def test_parameter_shift_on_statevector_follows_the_exact_autograd_path(encoding, generator):
    exact = train_qgan(encoding, generator, **_fast(epochs=3))
    shifted = train_qgan(encoding, generator, **_fast(epochs=3), executor="statevector")
    np.testing.assert_allclose(shifted.theta, exact.theta, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(shifted.history_frame().grad_norm, exact.history_frame().grad_norm, rtol=1e-7)


def test_cobyla_lowers_the_generator_loss_without_gradients(encoding, generator):
    result = train_qgan(encoding, generator, **_fast(epochs=4, optimizer="cobyla", loss="renyi", renyi_alpha=1.0))
    frame = result.history_frame()
    assert frame.grad_norm.isna().all()
    initial = Statevector(generator.bind(generator.initial_point)).probabilities()
    assert frame.kl.iloc[-1] < kl_divergence(encoding.target, initial)


def test_shot_executor_trains_with_parameter_shift(encoding, generator):
    settings = _fast(epochs=3, executor="aer", shots=256, executor_options={"shots": 256})
    first = train_qgan(encoding, generator, **settings)
    second = train_qgan(encoding, generator, **settings)
    frame = first.history_frame()
    assert np.all(np.isfinite(frame[["d_loss", "g_loss", "kl", "grad_norm"]].to_numpy()))
    assert not np.array_equal(first.theta, generator.initial_point)
    np.testing.assert_array_equal(first.theta, second.theta)  # seeded shots: reproducible
    assert first.probabilities.sum() == pytest.approx(1.0)


def test_bad_arguments_are_refused(tmp_path, encoding, generator):
    with pytest.raises(ValueError, match="optimizer must be one of"):
        train_qgan(encoding, generator, optimizer="sgd")
    with pytest.raises(ValueError, match="loss must be one of"):
        train_qgan(encoding, generator, loss="wasserstein")
    with pytest.raises(ValueError, match="executor must be one of"):
        train_qgan(encoding, generator, executor="ibm_cloud")
    with pytest.raises(ValueError, match="checkpoint_every=5 needs checkpoint_dir"):
        train_qgan(encoding, generator, checkpoint_every=5)
    with pytest.raises(ValueError, match="generator_lr must be a finite number > 0"):
        train_qgan(encoding, generator, generator_lr=0.0)
    with pytest.raises(TypeError, match="epochs must be an integer"):
        train_qgan(encoding, generator, epochs=2.5)
    with pytest.raises(ValueError, match=rf"cobyla_evals must be >= {generator.num_parameters + 2}"):
        train_qgan(encoding, generator, optimizer="cobyla", cobyla_evals=3)
    with pytest.raises(ValueError, match="renyi_alpha must be a finite number > 0"):
        train_qgan(encoding, generator, loss="renyi", renyi_alpha=-1.0)
    wide = build_generator(encode(pd.DataFrame({"A": np.arange(50.0), "B": np.arange(50.0) ** 0.5}), num_qubits=3).loader)
    with pytest.raises(EncodingContractError, match="generator circuit has 6 qubits but the encoding"):
        train_qgan(encoding, wide)


def test_resume_refuses_other_settings_or_encodings(tmp_path, encoding, generator):
    train_qgan(encoding, generator, **_fast(epochs=2), checkpoint_dir=tmp_path, checkpoint_every=1)
    with pytest.raises(ValueError, match="checkpoint was trained with optimizer='adam', this call has optimizer='cobyla'"):
        train_qgan(encoding, generator, **_fast(optimizer="cobyla"), resume_from=tmp_path)
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 2)), columns=["AAA", "BBB"])
    other = encode(frame, num_qubits=2, loader="normal")
    with pytest.raises(EncodingContractError, match="encoding contract mismatch"):
        train_qgan(other, generator, **_fast(), resume_from=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotTrainedError, match="no checkpoint"):
        train_qgan(encoding, generator, **_fast(), resume_from=tmp_path / "empty")


def test_renyi_epochs_measure_every_k_and_train_the_discriminator_on_minibatches(encoding, generator):
    settings = _fast(loss="renyi", renyi_alpha=0.5, epochs=10, metrics_every=4)
    first = train_qgan(encoding, generator, **settings)
    frame = first.history_frame()
    measured = frame.epoch.isin([4, 8, 10])  # every 4th and the last
    assert frame.loc[measured, ["kl", "js", "fidelity", "d_loss"]].notna().all().all()
    assert frame.loc[~measured, ["kl", "js", "fidelity", "d_loss"]].isna().all().all()
    assert frame.g_loss.notna().all() and frame.grad_norm.notna().all()
    reference = Statevector(generator.bind(first.theta)).probabilities()
    assert frame.kl.iloc[-1] == pytest.approx(kl_divergence(encoding.target, reference), rel=1e-9)
    # the generator's path does not depend on how often the metrics are computed
    every = train_qgan(encoding, generator, **{**settings, "metrics_every": 1})
    np.testing.assert_allclose(first.theta, every.theta, rtol=0, atol=1e-12)
    # same seed, same history (NaNs in the same places)
    pd.testing.assert_frame_equal(_frame(first), _frame(train_qgan(encoding, generator, **settings)), check_exact=True)
    untrained = train_qgan(encoding, generator, **{**settings, "epochs": 1, "metrics_every": 5})
    trained = [(a - b).abs().max().item() for a, b in zip(first.discriminator.parameters(), untrained.discriminator.parameters())]
    assert max(trained) > 0


def test_training_applies_the_thread_policy_and_restores_threads(encoding, generator):
    before = torch.get_num_threads()
    seen = []
    train_qgan(encoding, generator, **_fast(epochs=2), progress=lambda r: seen.append(torch.get_num_threads()))
    assert seen == [1, 1]  # a 4-qubit state: one thread
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="metrics_every must be >= 1"):
        train_qgan(encoding, generator, metrics_every=0)
    with pytest.raises(ValueError, match="threads must be >= 1"):
        train_qgan(encoding, generator, threads=0)


def test_a_run_stopped_between_measured_epochs_ends_on_metrics(encoding, generator):
    # what train_qgan does when the shot budget stops it on an unmeasured epoch
    from quantum_scenarios.gan.training import _Run

    config = train_qgan(encoding, generator, **_fast(epochs=1)).config
    run = _Run(encoding, generator, {**config, "loss": "renyi", "renyi_alpha": 0.5, "epochs": 10, "metrics_every": 5})
    for _ in range(3):
        run.train_epoch()
    assert np.isnan(run.history[-1].kl)
    run.measure_last()
    p = Statevector(generator.bind(run.theta.detach().numpy())).probabilities()
    assert run.history[-1].kl == pytest.approx(kl_divergence(encoding.target, p), rel=1e-9)
    assert np.isnan(run.history[-2].kl)  # only the last record is filled in
