#!/usr/bin/env python3
"""Serving benchmark: Shipyard's model server against BentoML and a hand-written FastAPI app.

    python bench/serving.py                      # Shipyard and the peers, the whole matrix
    python bench/serving.py --no-peers           # Shipyard only
    python bench/serving.py --soak 60            # the reliability soak only

The reference model of ../shared/bench/peers/serve_train.py (StandardScaler and
LogisticRegression on scikit-learn's breast-cancer data, 30 features) is logged
and registered in a fresh Shipyard home and served with prediction logging on.
wrk (Debian package ``wrk``) drives every server through the peers'
serve_load.sh: 1-row and 100-row bodies at concurrency 1, 8 and 64, keep-alive
connections, one wrk thread (it shares the 2 cores with the server). The peers
run through serve_bench.sh (set up once by serve_setup.sh) in the same
invocation. One JSON object per line: each measurement, then the comparison
with the best peer at each point.

--soak N: N seconds at concurrency 64 with 5% malformed bodies mixed in; reports
the status codes by kind, the server's memory over time, and whether every
answered valid request is in the prediction log.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT.parent / "shared" / "bench" / "peers"
SCRATCH = Path(os.environ.get("PEERS_DIR", Path(tempfile.gettempdir()) / "shipyard-peers"))
SERVING = SCRATCH / "serving"
SHIPYARD = Path(sys.executable).with_name("shipyard")

CONFIGS = {  # name -> shipyard serve options
    "shipyard-uvicorn-1w": ["--workers", "1"],
    "shipyard-uvicorn-2w": ["--workers", "2"],
    "shipyard-granian-2w": ["--server", "granian", "--workers", "2"],
}


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def prepare(home: Path) -> tuple[Path, Path]:
    """Train and register the reference model; write Shipyard's request bodies (the peers' rows)."""
    os.environ["SHIPYARD_HOME"] = str(home)
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import shipyard as sy

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    with sy.start_run("serving-bench"):
        info = sy.models.log(model, input_example=X.head())
    sy.registry.register(info, "breast-cancer-lr")
    sy.registry.set_alias("breast-cancer-lr", "champion", 1)
    bodies = home / "bodies"
    bodies.mkdir(parents=True, exist_ok=True)
    for rows in (1, 100):
        peer_body = SERVING / "bodies" / f"body_{rows}.json"
        data = (
            json.loads(peer_body.read_text())["rows"]
            if peer_body.exists()
            else X.values[:rows].tolist()
        )
        (bodies / f"body_{rows}.json").write_text(json.dumps({"data": data}))
    return bodies / "body_1.json", bodies / "body_100.json"


def start(home: Path, options: list[str], port: int) -> subprocess.Popen:
    env = {**os.environ, "SHIPYARD_HOME": str(home)}
    proc = subprocess.Popen(
        [
            str(SHIPYARD),
            "serve",
            "models:/breast-cancer-lr@champion",
            "--port",
            str(port),
            *options,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {proc.stderr.read().decode()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)  # readiness poll
    raise SystemExit("the server did not become ready in 120 s")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def load(url: str, body: Path, conc: int, secs: int, warm: int) -> dict:
    out = subprocess.run(
        [str(PEERS / "serve_load.sh"), url, str(body), str(conc), str(secs), str(warm)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    return {k: _number(v) for k, v in re.findall(r"(\w+)=(\S+)", line)}


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def run_shipyard(home: Path, bodies: dict[int, Path], args: argparse.Namespace) -> list[dict]:
    import shipyard as sy

    rows = []
    for port, (name, options) in enumerate(CONFIGS.items(), start=8601):
        proc = start(home, options, port)
        url = f"http://127.0.0.1:{port}/predict"
        for size, body in bodies.items():
            for conc in args.concs:
                result = load(url, body, conc, args.secs, args.warm)
                record = {
                    "server": name,
                    "workers": int(options[options.index("--workers") + 1]),
                    "body_rows": size,
                    "conc": conc,
                    **result,
                }
                rows.append(record)
                emit(record)
        stop(proc)
    logged = sy.serving.read_predictions("breast-cancer-lr", home=home)
    emit(
        {
            "prediction_log_rows": logged.num_rows,
            "logged_requests": len(set(logged["request_id"].to_pylist())),
        }
    )
    return rows


def run_peers(names: list[str], args: argparse.Namespace) -> list[dict]:
    if not (SERVING / "venv-fastapi").exists() or not (SERVING / "venv-bento").exists():
        subprocess.run(["bash", str(PEERS / "serve_setup.sh")], check=True)
    results = Path(tempfile.mkdtemp()) / "peers.tsv"
    env = {
        **os.environ,
        "RES": str(results),
        "SECS": str(args.secs),
        "WARM": str(args.warm),
        "CONCS": " ".join(map(str, args.concs)),
        "QUIET_MAX": "10",
    }
    subprocess.run(
        ["bash", str(PEERS / "serve_bench.sh"), *names],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    lines = results.read_text().splitlines()
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        record = dict(zip(header, line.split("\t"), strict=False))
        if record["body_rows"] == "const":
            continue
        row = {
            "server": record["server"],
            "workers": int(record["workers"]),
            "body_rows": int(record["body_rows"]),
            "conc": int(record["conc"]),
            **{
                k: _number(record[k])
                for k in ("rps", "p50_ms", "p99_ms", "non2xx", "sockerr", "requests")
            },
        }
        rows.append(row)
        emit(row)
    return rows


def compare(ours: list[dict], peers: list[dict]) -> None:
    for size in (1, 100):
        for conc in sorted({r["conc"] for r in ours}):
            mine = [r for r in ours if r["body_rows"] == size and r["conc"] == conc]
            theirs = [r for r in peers if r["body_rows"] == size and r["conc"] == conc]
            if not mine or not theirs:
                continue
            best = max(mine, key=lambda r: r["rps"])
            peer = max(theirs, key=lambda r: r["rps"])
            emit(
                {
                    "compare": f"{size}-row c{conc}",
                    "shipyard": best["server"],
                    "shipyard_rps": best["rps"],
                    "shipyard_p99_ms": best["p99_ms"],
                    "best_peer": peer["server"],
                    "peer_rps": peer["rps"],
                    "peer_p99_ms": peer["p99_ms"],
                    "rps_ratio": round(best["rps"] / peer["rps"], 2),
                    "p99_ratio": round(best["p99_ms"] / peer["p99_ms"], 3),
                }
            )


SOAK_LUA = """
-- 1 request in 20 is malformed, cycling through four kinds of bad body.
-- Counters are globals of each thread's Lua state; done() collects them.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  local f = assert(io.open(os.getenv("GOOD_BODY"), "rb")); good = f:read("*a"); f:close()
  bad = {'{"data": [[1.0, 2.0', '{"data": [[1.0]]}', '{"data": [["x"' .. string.rep(", 1.0", 29) .. ']]}', '{"rows": 3}'}
  wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"
  n, sent_good, sent_bad, codes = 0, 0, 0, {}
end
function request()
  n = n + 1
  if n % 20 == 0 then
    sent_bad = sent_bad + 1
    return wrk.format(nil, nil, nil, bad[(n / 20) % 4 + 1])
  end
  sent_good = sent_good + 1
  return wrk.format(nil, nil, nil, good)
end
function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end
function done(summary, latency, requests)
  local good_total, bad_total, all = 0, 0, {}
  for _, t in ipairs(threads) do
    good_total = good_total + t:get("sent_good")
    bad_total = bad_total + t:get("sent_bad")
    for code, count in pairs(t:get("codes")) do all[code] = (all[code] or 0) + count end
  end
  local parts = {}
  for code, count in pairs(all) do parts[#parts + 1] = code .. ":" .. count end
  io.write(string.format("SOAK sent_good=%d sent_bad=%d codes=%s p99_ms=%.2f\\n",
    good_total, bad_total, table.concat(parts, ","), latency:percentile(99) / 1000))
end
"""


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    out = subprocess.run(
        ["ps", "-o", "rss=", "--ppid", str(pid), "-p", str(pid)], capture_output=True, text=True
    )
    return sum(int(x) for x in out.stdout.split()) / 1024


def soak(home: Path, body: Path, seconds: int) -> None:
    import shipyard as sy

    script = home / "soak.lua"
    script.write_text(SOAK_LUA)
    port = 8690
    proc = start(home, ["--workers", "2"], port)
    wrk = subprocess.Popen(
        [
            "wrk",
            "-t1",
            "-c64",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/predict",
        ],
        env={**os.environ, "GOOD_BODY": str(body)},
        stdout=subprocess.PIPE,
        text=True,
    )
    memory = []
    while wrk.poll() is None:
        memory.append(round(rss_mb(proc.pid), 1))
        try:
            wrk.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    out = wrk.stdout.read()  # type: ignore[union-attr]
    stop(proc)
    line = next((x for x in out.splitlines() if x.startswith("SOAK")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{out}")
    fields = dict(re.findall(r"(\w+)=(\S*)", line))
    codes = {int(k): int(v) for k, v in (c.split(":") for c in fields["codes"].split(",") if c)}
    logged = sy.serving.read_predictions("breast-cancer-lr", home=home)
    logged_requests = len(set(logged["request_id"].to_pylist()))
    emit(
        {
            "soak_seconds": seconds,
            "sent_valid": int(fields["sent_good"]),
            "sent_malformed": int(fields["sent_bad"]),
            "status_codes": codes,
            "5xx": sum(v for k, v in codes.items() if k >= 500),
            "answered_200": codes.get(200, 0),
            "answered_4xx": sum(v for k, v in codes.items() if 400 <= k < 500),
            "logged_requests": logged_requests,
            "p99_ms": float(fields["p99_ms"]),
            "rss_mb_first_last_max": [
                memory[1] if len(memory) > 1 else memory[0],
                memory[-1],
                max(memory),
            ],
            "rss_mb_samples": memory,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--secs", type=int, default=12)
    parser.add_argument("--warm", type=int, default=2)
    parser.add_argument("--concs", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--peers", nargs="+", default=["fastapi-1w", "fastapi-2w", "bento-batch"])
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument(
        "--soak", type=int, default=0, help="run only the soak, for this many seconds"
    )
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="shipyard-serving-bench-"))
    body_1, body_100 = prepare(home)
    if args.soak:
        soak(home, body_1, args.soak)
        return
    ours = run_shipyard(home, {1: body_1, 100: body_100}, args)
    if not args.no_peers:
        peers = run_peers(args.peers, args)
        compare(ours, peers)


if __name__ == "__main__":
    main()
