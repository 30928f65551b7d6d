"""The preflight's qubit limit is mode-aware: each mode's own register, errors name the option."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantum_scenarios.encoding import MAX_TOTAL_QUBITS
from quantum_scenarios.preflight import preflight


def _returns(d: int, n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2011-01-03", periods=n, name="date")
    x = 0.01 * (rng.standard_normal((n, 1)) + rng.standard_normal((n, d)))
    return pd.DataFrame(x, index=index, columns=[f"S{k:02d}" for k in range(d)])


SPLIT = "2011-12-30"


def test_joint_mode_limits_assets_times_encoding_qubits() -> None:
    returns = _returns(9)
    with pytest.raises(ValueError) as raised:
        preflight(returns, num_qubits=3, split_date=SPLIT, mode="joint")
    message = str(raised.value)
    assert "9 assets × 3 qubits = 27 > 24 qubits: lower encoding.num_qubits (--set encoding.num_qubits=2)" in message
    assert "--assets" in message and "--set model.mode=factor" in message
    checked = preflight(returns[returns.columns[:8]], num_qubits=3, split_date=SPLIT, mode="joint")
    assert checked.total_qubits == 24 and checked.grid_cells == 2**24 and checked.mode == "joint"


def test_factor_mode_checks_factors_times_copula_qubits_for_any_number_of_assets() -> None:
    returns = _returns(50, n=400)
    checked = preflight(returns, num_qubits=3, split_date=SPLIT, mode="factor", factors=3, copula_qubits=4)
    # 50 assets × 3 qubits = 150 would be refused in joint mode; factor mode trains 3 × 4 qubits
    assert checked.total_qubits == 12 and checked.mode == "factor"
    assert checked.grid_cells is None and checked.occupied_cells is None and checked.warnings == []
    # factors are capped at assets - 1, as model_from_config does
    assert preflight(_returns(3), num_qubits=3, split_date=SPLIT, mode="factor", factors=5).total_qubits == 8
    with pytest.raises(ValueError) as raised:
        preflight(returns, num_qubits=3, split_date=SPLIT, mode="factor", factors=7, copula_qubits=4)
    message = str(raised.value)
    assert f"7 factors × model.copula_qubits 4 = 28 > {MAX_TOTAL_QUBITS} qubits" in message
    assert "--set model.factors=6" in message and "--set model.copula_qubits=3" in message


def test_copula_and_hybrid_modes_check_their_own_registers() -> None:
    returns = _returns(7)
    assert preflight(returns, num_qubits=8, split_date=SPLIT, mode="copula", copula_qubits=3).total_qubits == 21
    with pytest.raises(ValueError) as raised:
        preflight(returns, num_qubits=1, split_date=SPLIT, mode="copula", copula_qubits=4)
    message = str(raised.value)
    assert "copula mode: 7 assets × model.copula_qubits 4 = 28 > 24 qubits" in message
    assert "--set model.copula_qubits=3" in message and "--set model.mode=factor" in message
    assert preflight(_returns(30), num_qubits=3, split_date=SPLIT, mode="hybrid", latent_qubits=6).total_qubits == 6


def test_fewer_training_returns_than_assets_names_the_cut_off() -> None:
    returns = _returns(40, n=300)
    with pytest.raises(ValueError) as raised:
        preflight(returns, num_qubits=3, split_date="2011-02-11", mode="factor")
    message = str(raised.value)
    assert "leaves 30 training returns for 40 assets" in message and "evaluation.split_date" in message
