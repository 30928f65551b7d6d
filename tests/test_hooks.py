"""Failure hooks and the training concurrency limit, under a throwaway Prefect API.

The failure hook is checked end to end: a market flow fails validation, the hook publishes
the ``market-data-failure`` artifact and sends the notification through a Custom Webhook
block pointed at an HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from prefect.testing.utilities import prefect_test_harness

from quantum_scenarios.config import OperationsConfig, OutputConfig, SourceConfig, ValidationConfig


@pytest.fixture(scope="module", autouse=True)
def prefect_api():
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def webhook():
    """An HTTP server on 127.0.0.1 that records every JSON body POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def test_failure_publishes_artifact_and_notifies_the_named_block(tmp_path, make_prices, webhook) -> None:
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.client.orchestration import get_client

    from flows.market_pipeline import market_flow

    url, received = webhook
    CustomWebhookNotificationBlock(
        name="qscen alerts", url=url, json_data={"subject": "{{subject}}", "text": "{{body}}"}
    ).save("qscen-alerts", overwrite=True)

    prices = make_prices(300, ("AAA", "BBB"), seed=3)
    prices.iloc[150, 1] = -4.2  # a negative price: strict validation fails
    csv = tmp_path / "prices.csv"
    prices.rename_axis("date").to_csv(csv)
    state = market_flow(
        source=SourceConfig(source=str(csv)), validation=ValidationConfig(mode="strict"),
        output=OutputConfig(workdir=tmp_path / "w", run_id="alerting"),
        operations=OperationsConfig(notify_block="custom-webhook/qscen-alerts"), return_state=True,
    )
    assert state.is_failed()

    (message,) = received
    assert message["subject"] == "qscen: market-data failed"
    assert "run id: alerting" in message["text"] and "stage: validate" in message["text"]
    assert "price > 0" in message["text"] and "BBB" in message["text"]

    with get_client(sync_client=True) as client:
        artifacts = [a for a in client.read_artifacts() if a.key == "market-data-failure"]
        validation = [a for a in client.read_artifacts() if a.key == "market-data-validation"]
    assert artifacts and artifacts[-1].flow_run_id == state.state_details.flow_run_id
    text = artifacts[-1].data
    assert "`alerting`" in text and "`validate`" in text and "ValidationFailedError" in text
    assert validation and "FAILED" in validation[-1].data and "price > 0" in validation[-1].data


def test_failure_without_a_block_publishes_only_the_artifact(tmp_path, webhook) -> None:
    from prefect.client.orchestration import get_client

    from flows.market_pipeline import market_flow

    _, received = webhook
    state = market_flow(
        source=SourceConfig(source=str(tmp_path / "missing.csv")),
        output=OutputConfig(workdir=tmp_path / "w", run_id="quiet"), return_state=True,
    )
    assert state.is_failed() and received == []
    with get_client(sync_client=True) as client:
        mine = [a for a in client.read_artifacts() if a.key == "market-data-failure"
                and a.flow_run_id == state.state_details.flow_run_id]
    assert len(mine) == 1 and "`ingest`" in mine[0].data and "`quiet`" in mine[0].data


def test_training_slot_waits_then_refuses_when_every_slot_is_busy() -> None:
    from prefect.concurrency.sync import concurrency

    from tasks.operations import TRAINING_LIMIT, TrainingSlotTimeout, ensure_training_limit, training_slot

    assert ensure_training_limit(1) == 1
    assert ensure_training_limit(5) == 1  # an existing limit belongs to the operator: not overwritten
    with concurrency(TRAINING_LIMIT, occupy=1, strict=True):
        with pytest.raises(TrainingSlotTimeout, match="1 training run.*prefect gcl update qscen-training"):
            with training_slot(OperationsConfig(wait_seconds=1)):
                pass
    with training_slot(OperationsConfig(wait_seconds=5)):  # free again
        pass


def test_no_training_slot_is_taken_on_a_commands_temporary_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """A SIGKILLed qscen must not leave a slot taken: its temporary server has no lease repossessor."""
    from prefect.concurrency.sync import concurrency

    from quantum_scenarios.server import TEMPORARY_SERVER_ENV
    from tasks.operations import TRAINING_LIMIT, ensure_training_limit, training_slot

    ensure_training_limit(1)
    monkeypatch.setenv(TEMPORARY_SERVER_ENV, "1")
    with concurrency(TRAINING_LIMIT, occupy=1, strict=True):  # the only slot is busy ...
        with training_slot(OperationsConfig(wait_seconds=1)):  # ... and the block still runs at once
            entered = True
    assert entered
