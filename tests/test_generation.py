"""The generate stage glue: model inputs and the scenario set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantum_scenarios.encoding import encode
from quantum_scenarios.scenarios.generation import generate_scenarios, prepare_model_inputs


@pytest.fixture(scope="module")
def market(bundled_market):
    return bundled_market


def test_garch_inputs_use_training_parameters_out_of_sample(market) -> None:
    inputs = prepare_model_inputs(market.returns, mode="garch", split_date="2012-12-31")
    assert inputs.transform == "garch_t_residual"
    assert inputs.train_values.index.max() <= pd.Timestamp("2012-12-31") < inputs.test_values.index.min()
    assert len(inputs.train_values) + len(inputs.test_values) == len(market.returns)
    # residuals are standardised: unit variance in sample, close to it out of sample
    assert np.allclose(inputs.train_values.std(), 1.0, atol=0.05)
    assert np.allclose(inputs.test_values.std(), 1.0, atol=0.15)
    # the simulation state is the last observed day, not the end of the training period
    assert inputs.garch.residuals.index.max() == market.returns.index.max()
    assert inputs.garch_train.residuals.index.max() <= pd.Timestamp("2012-12-31")


def test_iid_inputs_are_the_returns(market) -> None:
    inputs = prepare_model_inputs(market.returns, mode="iid", split_date="2010-06-30")
    assert inputs.garch is None and inputs.transform == "log_return"
    pd.testing.assert_frame_equal(inputs.train_values, market.returns.loc[:"2010-06-30"])


def test_bad_mode_and_split_are_named(market) -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        prepare_model_inputs(market.returns, mode="arima")
    with pytest.raises(ValueError, match="2030-01-01"):
        prepare_model_inputs(market.returns, split_date="2030-01-01")


def test_scenario_set_has_every_type_and_the_analyst_columns(market) -> None:
    inputs = prepare_model_inputs(market.returns, mode="garch")
    encoded = encode(inputs.train_values, num_qubits=2, margin=0.0, transform=inputs.transform)
    result = generate_scenarios(
        encoded, encoded.target, inputs, market.prices, n_paths=300, horizon=5, seed=3,
        risk_horizons=(1, 5, 10),
    )
    frame = result.to_frame("r1")
    assert list(frame.columns) == ["run_id", "scenario_type", "path_id", "step", "asset", "log_return", "level"]
    assert set(frame["scenario_type"]) == {"base", "tail", "vol_shock", "correlation_stress", "historical_replay"}
    assert frame.notna().all().all()
    assert list(frame["asset"].cat.categories) == ["SP500", "NASDAQ", "WTI"]
    base = frame[frame["scenario_type"] == "base"]
    assert base["path_id"].nunique() == 300 and base["step"].max() == 5
    # levels start from the last observed price: level_1 = last * exp(r_1)
    first = base[base["step"] == 1].set_index(["path_id", "asset"])
    last = market.prices.iloc[-1]
    expected = np.array([last[a] for a in first.index.get_level_values("asset")]) * np.exp(first["log_return"])
    np.testing.assert_allclose(first["level"], expected, rtol=1e-12)
    # horizons beyond the paths are dropped from the risk table
    assert set(result.risk["horizon"]) == {1, 5}
    # same seed, same paths
    again = generate_scenarios(encoded, encoded.target, inputs, market.prices, n_paths=300, horizon=5, seed=3)
    np.testing.assert_array_equal(again.base.log_returns, result.base.log_returns)


def test_weights_must_match_assets(market) -> None:
    inputs = prepare_model_inputs(market.returns, mode="iid")
    encoded = encode(inputs.train_values, num_qubits=1, margin=0.0)
    with pytest.raises(ValueError, match="one value per asset"):
        generate_scenarios(encoded, encoded.target, inputs, market.prices, n_paths=200, weights=[0.5, 0.5])
