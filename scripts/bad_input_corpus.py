"""Run a corpus of bad files, bad options, faults and signals through the real ``qscen`` command.

Usage:
    python scripts/bad_input_corpus.py [--out corpus.json] [--only NAME-SUBSTRING] [--no-signals]

Every case runs ``qscen`` in a subprocess, as a user would, in a fresh work
folder, and is judged on what the user sees:

* **raw traceback**: ``Traceback (most recent call last)`` on stdout/stderr;
* **silent acceptance**: a case that must fail exited 0 (or a repair case
  exited 0 without quarantining anything);
* **unclear error**: it failed, but the last line of stderr is not one
  ``qscen <command>: error: ...`` line (or the expected words are missing);
* **orphaned server**: after SIGKILL/SIGTERM/SIGINT, a Prefect server process
  started by that ``qscen`` is still alive 10 s later.

Cases that reach the pipeline share one Prefect server the script starts
(``PREFECT_API_URL``), as ``qscen`` reuses a configured server; cases about the
server and signals let ``qscen`` start its own. The targets are 0 raw
tracebacks, 0 silent acceptances and 0 orphaned servers. The script prints a
table and the counts, with the machine's load and the versions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from quantum_scenarios.server import TemporaryServer  # noqa: E402


# --------------------------------------------------------------------------- inputs


def prices(n: int = 400, assets: tuple[str, ...] = ("AAA", "BBB"), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    levels = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, size=(n, len(assets))), axis=0))
    return pd.DataFrame(levels, index=pd.bdate_range("2010-01-04", periods=n, name="date"), columns=list(assets))


def long_form(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reset_index().melt(id_vars="date", var_name="asset", value_name="price")
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    return out


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def wide_csv(path: Path, frame: pd.DataFrame | None = None) -> Path:
    frame = prices() if frame is None else frame
    return write(path, frame.to_csv(date_format="%Y-%m-%d"))


def with_cell(frame: pd.DataFrame, row: int, col: int, value: object) -> pd.DataFrame:
    frame = frame.astype(object)
    frame.iat[row, col] = value
    return frame


def gap_frame(days: int = 60) -> pd.DataFrame:
    frame = prices()
    index = frame.index.to_series()
    index.iloc[200:] = index.iloc[200:] + pd.Timedelta(days=days)
    frame.index = pd.DatetimeIndex(index.values, name="date")
    return frame


# --------------------------------------------------------------------------- cases


@dataclass
class Case:
    """One invocation: how to prepare it, what to run, what must happen."""

    name: str
    group: str
    argv: Callable[[Path], list[str]]
    expect: str = "error"  # error | ok | quarantine | signal
    words: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    own_server: bool = False
    signal: int | None = None
    signal_when: str = "training"  # training | server | early
    limit_fsize: int | None = None


def _run(*extra: str) -> Callable[[Path], list[str]]:
    return lambda d: ["run", "--workdir", str(d / "w"), *extra]


def file_case(name: str, make: Callable[[Path], Path], words: tuple[str, ...] = (), *extra: str,
              expect: str = "error", command: str = "validate") -> Case:
    def argv(d: Path) -> list[str]:
        path = make(d)
        base = [command, str(path)] if command == "validate" else [command, "--source", str(path)]
        return [*base, "--workdir", str(d / "w"), *extra]

    return Case(name, "file", argv, expect, words)


SMALL = ("--set", "evaluation.split_date=2010-12-31", "--set", "validation.min_rows=100",
         "--set", "validation.min_observations=100")


def cases() -> list[Case]:
    out: list[Case] = []
    f = file_case
    p = prices
    # -- files (validate) ------------------------------------------------------------------
    out += [
        f("missing file", lambda d: d / "nope.csv", ("Input file not found",)),
        f("directory as file", lambda d: (d / "adir").mkdir() or d / "adir", ("is not a file",)),
        f("empty file", lambda d: write(d / "e.csv", ""), ("is empty",)),
        f("header only", lambda d: write(d / "h.csv", "date,AAA\n"), ("no data rows",)),
        f("no date column", lambda d: write(d / "nd.csv", "when,AAA\n1,2\n"), ("No date column",)),
        f("unparseable dates", lambda d: write(d / "ud.csv", "date,AAA\n2020-01-01,1\nyesterday,2\n"),
          ("Cannot parse",)),
        f("mixed timezones", lambda d: write(d / "tz.csv", "date,AAA\n2020-01-01T10:00:00+01:00,1\n2020-01-02T10:00:00,2\n"),
          ("mixes timezone",)),
        f("non-numeric price", lambda d: wide_csv(d / "nn.csv", with_cell(p(), 5, 0, "abc")), ("Non-numeric",)),
        f("duplicate date long", lambda d: write(d / "dl.csv", "date,asset,price\n2020-01-01,A,1\n2020-01-01,A,2\n"),
          ("Duplicate date",)),
        f("duplicate date wide suggests --asset-col",
          lambda d: write(d / "dw.csv", "Date,sym,px_close\n2020-01-01,A,1\n2020-01-01,B,2\n"), ("--asset-col",)),
        f("csv.gz that is not gzip", lambda d: wide_csv(d / "x.csv.gz"), ("not valid gz",)),
        f("corrupt parquet", lambda d: write(d / "c.parquet", b"PAR1 not really PAR1"), ("Cannot read",)),
        f("unsupported suffix", lambda d: write(d / "x.xlsx", b"PK\x03\x04"), ("Unsupported file type",)),
        f("binary garbage csv", lambda d: write(d / "g.csv", bytes(range(256)) * 4), ()),
        f("utf-16 csv", lambda d: write(d / "u.csv", p().to_csv().encode("utf-16")), ()),
        f("duplicate wide column", lambda d: write(d / "dc.csv", p().to_csv().replace("AAA,BBB", "AAA,AAA", 1)),
          ("appears twice",)),
        f("empty header", lambda d: write(d / "eh.csv", p().to_csv().replace("AAA,BBB", ",BBB", 1)),
          ("empty header",)),
        f("ESC in wide asset name", lambda d: write(d / "esc.csv", p().to_csv().replace("AAA", "A\x1b[31mA", 1)),
          ("control character",)),
        f("BEL in long asset name", lambda d: write(d / "bel.csv", long_form(p()).replace({"AAA": "A\x07A"}).to_csv(index=False)),
          ("control character",)),
        f("NaN prices strict", lambda d: wide_csv(d / "nan.csv", with_cell(p(), 50, 0, "NaN")), ("missing_price",), *SMALL),
        f("N/A prices strict", lambda d: wide_csv(d / "na.csv", with_cell(p(), 50, 1, "N/A")), ("missing_price",), *SMALL),
        f("blank prices strict", lambda d: wide_csv(d / "bl.csv", with_cell(p(), 60, 0, "")), ("missing_price",), *SMALL),
        f("60-day gap strict", lambda d: wide_csv(d / "gap.csv", gap_frame()), ("max_gap_days",), *SMALL),
        f("60-day gap repair", lambda d: wide_csv(d / "gap2.csv", gap_frame()), ("max_gap_days",), *SMALL,
          "--mode", "repair"),
        f("negative price strict", lambda d: wide_csv(d / "neg.csv", with_cell(p(), 70, 0, -4.2)), ("price > 0",), *SMALL),
        f("zero price strict", lambda d: wide_csv(d / "zero.csv", with_cell(p(), 70, 1, 0.0)), ("price > 0",), *SMALL),
        f("price spike strict", lambda d: wide_csv(d / "spike.csv", with_cell(p(), 90, 0, 1e6)), ("return",), *SMALL),
        f("stale prices strict", lambda d: wide_csv(d / "stale.csv", p().assign(AAA=lambda x: x["AAA"].where(
            (x.index < x.index[100]) | (x.index > x.index[130]), 50.0))), ("unchanged",), *SMALL),
        f("too few rows", lambda d: wide_csv(d / "few.csv", prices(30)), ("at least",)),
        f("all-NaN asset", lambda d: wide_csv(d / "alln.csv", p().assign(BBB=np.nan)), ("have no prices",)),
        f("single date", lambda d: write(d / "one.csv", "date,AAA\n2020-01-01,1\n"), ("at least 2",)),
        f("non-overlapping assets", lambda d: write(d / "no.csv", "date,asset,price\n2020-01-01,A,1\n2020-01-02,A,2\n"
                                                    "2021-01-01,B,1\n2021-01-02,B,2\n"), ("overlap",)),
        f("asset-col not found", lambda d: wide_csv(d / "ac.csv"), ("not found",), "--asset-col", "ticker"),
        f("date-col not found", lambda d: wide_csv(d / "dc2.csv"), ("not found",), "--date-col", "when"),
        f("unknown --assets", lambda d: wide_csv(d / "ua.csv"), ("Unknown asset", "--assets"), "--assets", "ZZZ"),
        f("parquet string prices", lambda d: (p().astype(str).to_parquet(d / "s.parquet") or d / "s.parquet"),
          ("type string",)),
    ]
    # -- repair / good inputs (must succeed and say what happened) --------------------------
    out += [
        f("NaN prices repair quarantines", lambda d: wide_csv(d / "nanr.csv", with_cell(p(), 50, 0, "NaN")),
          ("quarantine",), *SMALL, "--mode", "repair", expect="quarantine"),
        f("negative price repair quarantines", lambda d: wide_csv(d / "negr.csv", with_cell(p(), 70, 0, -1.0)),
          ("quarantine",), *SMALL, "--mode", "repair", expect="quarantine"),
        f("N/A with ffill is filled", lambda d: wide_csv(d / "naf.csv", with_cell(p(), 50, 1, "N/A")),
          ("forward-filled",), *SMALL, "--set", "source.align=ffill", expect="ok"),
        f("long form Date,stock,value M/D/YYYY", lambda d: write(d / "lf.csv", "Date,stock,value,change\n" + "".join(
            f"{t.month}/{t.day}/{t.year},{a},{v:.4f},0\n" for t, row in p().iterrows() for a, v in row.items())),
          ("AAA, BBB",), *SMALL, expect="ok"),
    ]
    # -- options -----------------------------------------------------------------------------
    opt = lambda name, extra, words: Case(name, "option", _run(*extra), "error", words)  # noqa: E731
    out += [
        opt("--set unknown field", ("--set", "training.epochz=3"), ("unknown field",)),
        opt("--set unknown section", ("--set", "trainer.epochs=3"), ("unknown section",)),
        opt("--set without =", ("--set", "training.epochs"), ("section.field=value",)),
        opt("--set invalid YAML", ("--set", "training.epochs=[1"), ("not valid YAML",)),
        opt("--set wrong type", ("--set", "training.epochs=abc"), ("option training.epochs",)),
        opt("--set out of bounds", ("--set", "training.epochs=0"), ("greater than or equal",)),
        opt("--set bad choice", ("--set", "validation.mode=sloppy"), ("option validation.mode",)),
        opt("--set list for a number", ("--set", "training.epochs=1,2"), ("option training.epochs",)),
        opt("--set assets list unknown", ("--set", "source.assets=MSFT,AAPL"), ("Unknown asset",)),
        opt("--assets empty name", ("--assets", "SP500,,WTI"), ("empty name",)),
        opt("run-id with slash", ("--run-id", "a/b"), ("plain folder name",)),
        opt("run-id with control char", ("--run-id", "a\x1bb"), ("plain folder name",)),
        opt("split_date before data", ("--set", "evaluation.split_date=1990-01-01"), ("evaluation.split_date",)),
        opt("split_date after data", ("--set", "evaluation.split_date=2030-01-01"), ("evaluation.split_date",)),
        opt("quantiles reversed", ("--set", "encoding.quantiles=0.9,0.1"), ("quantiles",)),
        opt("start after end", ("--set", "source.start=2015-01-01", "--set", "source.end=2010-01-01"), ("after end",)),
        opt("negative n_paths", ("--set", "scenarios.n_paths=-5"), ("option scenarios.n_paths",)),
        opt("bad executor", ("--set", "executor.name=gpu9000"), ("option executor.name",)),
        opt("--wait not a number", ("--wait", "soon"), ("invalid float value",)),
        opt("unknown option", ("--epochs", "3"), ("unrecognized arguments",)),
        Case("too many qubits", "option",
             lambda d: ["run", "--source", str(wide_csv(d / "five.csv", prices(400, ("A1", "A2", "A3", "A4", "A5")))),
                        "--set", "encoding.num_qubits=5", "--workdir", str(d / "w"), *SMALL],
             "error", ("25 > 24", "encoding.num_qubits")),
        Case("config missing", "option", lambda d: ["run", "--config", str(d / "no.yaml")], "error", ("not found",)),
        Case("config invalid YAML", "option",
             lambda d: ["run", "--config", str(write(d / "b.yaml", "training:\n  epochs: [1\n"))], "error",
             ("not valid YAML",)),
        Case("config not a mapping", "option",
             lambda d: ["run", "--config", str(write(d / "l.yaml", "- 1\n- 2\n"))], "error", ("mapping",)),
        Case("config unknown section", "option",
             lambda d: ["run", "--config", str(write(d / "u.yaml", "trainer:\n  epochs: 3\n"))], "error",
             ("trainer",)),
        Case("config wrong type", "option",
             lambda d: ["run", "--config", str(write(d / "t.yaml", "training:\n  epochs: many\n"))], "error",
             ("option training.epochs",)),
        Case("verify missing run", "option", lambda d: ["verify", "nope", "--workdir", str(d)], "error",
             ("does not exist",)),
    ]
    # -- faults -------------------------------------------------------------------------------
    out += [
        Case("workdir is a file", "fault",
             lambda d: ["run", "--workdir", str(write(d / "wfile", "x"))], "error", ("not a folder",)),
        Case("file-size limit (full disk) at the workdir check", "fault", _run(), "error",
             ("file too large",), limit_fsize=1024),
        Case("file-size limit (full disk) while writing outputs", "fault",
             lambda d: ["validate", "bundled", "--workdir", str(d / "w")], "error", ("file too large",),
             limit_fsize=60_000),
        Case("run id locked by another writer", "fault", lambda d: ["run", "--workdir", str(d / "w"), "--run-id", "L"],
             "error", ("being written by",)),
        Case("validate on a finished run", "fault",
             lambda d: ["validate", "bundled", "--workdir", str(d / "w"), "--run-id", "F"], "error", ("is finished",)),
        Case("train on a finished run", "fault",
             lambda d: ["train", "--workdir", str(d / "w"), "--run-id", "F"], "error", ("is finished",)),
        Case("server startup timeout", "fault", lambda d: ["validate", "bundled", "--workdir", str(d / "w")],
             "error", ("did not start within 1 s",),
             env={"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "1"}, own_server=True),
        Case("startup timeout not a number", "fault", lambda d: ["validate", "bundled", "--workdir", str(d / "w")],
             "error", ("must be a number of seconds",),
             env={"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "soon"}, own_server=True),
        Case("PREFECT_HOME is a file", "fault", lambda d: ["validate", "bundled", "--workdir", str(d / "w")],
             "error", ("error",), env={"PREFECT_HOME": "FILE"}, own_server=True),
    ]
    # -- signals (own server, real pipeline) ------------------------------------------------
    train = lambda d: ["run", "--source", str(wide_csv(d / "sig.csv", prices(700))), "--workdir", str(d / "w"),  # noqa: E731
                       "--run-id", "s", "--set", "evaluation.split_date=2011-12-31", "--set", "training.epochs=5000",
                       "--set", "training.checkpoint_every=5", "--set", "encoding.num_qubits=2"]
    out += [
        Case("SIGINT during training", "signal", train, "signal", ("interrupted at stage train; nothing was committed",),
             own_server=True, signal=signal.SIGINT),
        Case("SIGTERM during training", "signal", train, "signal", ("terminated at stage train; nothing was committed",),
             own_server=True, signal=signal.SIGTERM),
        Case("SIGKILL during training", "signal", train, "signal", (), own_server=True, signal=signal.SIGKILL),
        Case("SIGTERM during server startup", "signal", train, "signal", ("terminated at stage server start",),
             own_server=True, signal=signal.SIGTERM, signal_when="server"),
        Case("SIGKILL during server startup", "signal", train, "signal", (), own_server=True, signal=signal.SIGKILL,
             signal_when="server"),
        Case("SIGINT during ingest", "signal", lambda d: ["validate", "bundled", "--workdir", str(d / "w")], "signal",
             ("interrupted at stage",), own_server=True, signal=signal.SIGINT, signal_when="early"),
    ]
    return out


# --------------------------------------------------------------------------- running


def _children_servers(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"uvicorn" in cmd:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


def _prepare_faults(case: Case, d: Path) -> subprocess.Popen | None:
    """Side conditions of fault cases: a held lock, a finished run."""
    if case.name == "run id locked by another writer":
        code = f"from quantum_scenarios.runs import RunLock; import time; RunLock({str(d / 'w')!r}, 'L', command='qscen run').acquire(); print('ready', flush=True); time.sleep(120)"
        holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
        holder.stdout.readline()
        return holder
    if "finished run" in case.name:
        from quantum_scenarios.runs import RunLayout

        layout = RunLayout(d / "w", "F").open()
        layout.model_dir.mkdir()
        layout.report_path.write_text("report")
        layout.commit()
    return None


def run_case(case: Case, root: Path, shared_api: str | None) -> dict:
    d = Path(tempfile.mkdtemp(prefix="case-", dir=root))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_HOME": str(d / "prefect-home")}
    env.pop("PREFECT_LOGGING_LEVEL", None)
    if case.own_server or shared_api is None:
        env.pop("PREFECT_API_URL", None)
    else:
        env["PREFECT_API_URL"] = shared_api
        env["PREFECT_HOME"] = str(root / "shared-prefect-home")
    for key, value in case.env.items():
        env[key] = str(write(d / "home-file", "x")) if value == "FILE" else value
    holder = _prepare_faults(case, d)
    argv = case.argv(d)
    preexec = None
    if case.limit_fsize:
        import resource

        limit = case.limit_fsize
        preexec = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # noqa: E731
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "qscen.cli", *argv], cwd=d, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec,
                             start_new_session=True)
    servers: list[int] = []
    orphaned = None
    if case.signal is not None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and child.poll() is None:
            servers = _children_servers(child.pid) or servers
            if case.signal_when == "early" and time.monotonic() - started > 2.5:
                break
            if case.signal_when == "server" and servers:
                break
            if case.signal_when == "training" and list((d / "w" / "data" / "runs").glob(".*.checkpoints/epoch-*.pt")):
                break
            time.sleep(0.1)
        servers = _children_servers(child.pid) or servers
        sent = time.monotonic()
        os.kill(child.pid, case.signal)
    try:
        out, err = child.communicate(timeout=900)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        out, err = child.communicate()
    seconds = time.monotonic() - started
    if case.signal is not None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in servers):
            time.sleep(0.2)
        orphaned = sum(_alive(p) for p in servers)
        for pid in servers:  # never leave one behind for the next case
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    if holder is not None:
        holder.kill()
        holder.wait()
    text = out + err
    lines = [line for line in err.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    first_error = next((line for line in lines if ": error: " in line), last)
    traceback_seen = "Traceback (most recent call last)" in text
    words_ok = all(w in text for w in case.words)
    if case.expect == "error":
        silent = child.returncode == 0
        message = [line for line in lines if line.startswith("qscen ") and ": error: " in line]
        clear = (child.returncode != 0 and words_ok and not traceback_seen
                 and (len(message) == 1 or last.startswith("qscen: error:") or "usage:" in err))
    elif case.expect == "quarantine":
        silent = child.returncode == 0 and "quarantine" not in text
        clear = child.returncode == 0 and words_ok
    elif case.expect == "ok":
        silent, clear = False, child.returncode == 0 and words_ok
    else:  # signal
        silent = False
        expected_code = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -9}[case.signal]
        clear = child.returncode == expected_code and words_ok and not traceback_seen
    return {
        "name": case.name, "group": case.group, "exit": child.returncode, "seconds": round(seconds, 1),
        "traceback": traceback_seen, "silent": silent, "clear": clear, "orphaned_servers": orphaned,
        "servers_seen": len(servers) if case.signal is not None else None,
        "stderr_lines": len(lines), "last_line": first_error[:300],
        "signal_to_exit_s": round(time.monotonic() - sent, 1) if case.signal is not None else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write every case's outcome as JSON")
    parser.add_argument("--only", default=None, help="run only cases whose name contains this text")
    parser.add_argument("--no-signals", action="store_true", help="skip the (slow) signal cases")
    args = parser.parse_args(argv)
    selected = [c for c in cases() if (args.only is None or args.only.lower() in c.name.lower())
                and not (args.no_signals and c.group == "signal")]
    import prefect
    import qiskit

    print(f"qscen bad-input corpus: {len(selected)} cases; load {os.getloadavg()}; python {platform.python_version()}, "
          f"prefect {prefect.__version__}, qiskit {qiskit.__version__}, pandas {pd.__version__}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="qscen-corpus-") as tmp:
        root = Path(tmp)
        need_shared = any(not c.own_server for c in selected)
        server = TemporaryServer(home=root / "shared-prefect-home").start() if need_shared else None
        try:
            for case in selected:
                result = run_case(case, root, server.api_url if server else None)
                results.append(result)
                flag = "ok " if result["clear"] and not result["traceback"] and not result["silent"] else "BAD"
                print(f"{flag} {result['group']:<7} {result['seconds']:>6.1f}s exit {str(result['exit']):>4}  "
                      f"{case.name:<48} | {result['last_line'][:110]}", flush=True)
        finally:
            if server is not None:
                server.stop()
    counts = {
        "cases": len(results),
        "raw_tracebacks": sum(r["traceback"] for r in results),
        "silent_acceptances": sum(r["silent"] for r in results),
        "unclear": sum(not r["clear"] for r in results),
        "orphaned_servers": sum(r["orphaned_servers"] or 0 for r in results),
        "servers_seen_in_signal_cases": sum(r["servers_seen"] or 0 for r in results),
        "signal_cases": sum(r["group"] == "signal" for r in results),
        "max_signal_to_exit_s": max((r["signal_to_exit_s"] or 0) for r in results),
        "input_errors_median_s": float(np.median([r["seconds"] for r in results if r["group"] in ("file", "option")
                                                  and r["exit"] not in (0,)] or [0])),
        "load_after": os.getloadavg(),
    }
    print(json.dumps(counts, indent=2))
    if args.out:
        args.out.write_text(json.dumps({"counts": counts, "cases": results}, indent=2))
    ok = counts["raw_tracebacks"] == 0 and counts["silent_acceptances"] == 0 and counts["orphaned_servers"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
