"""The README's MLflow UI screenshots, made from a real store:  python docs/make_screenshots.py

Fills a fresh SQLite store (in a temporary folder) with a small sweep of the tiny model: two
LoRA ranks trained on the bundled Belebele-answers data, so the adapter visibly changes answers.
Then starts ``mlflow ui`` on 127.0.0.1, opens it in a headless Chromium driven by Playwright,
and writes two PNGs:

  docs/ui/runs.png       the experiment in the model-training view: the sweep and its runs,
                         named <model>-<overrides>-<hash>, with their datasets
  docs/ui/run_page.png   one run's page: its description is the result card (Belebele base ->
                         adapter, model, adapter size, data, losses, links) with the chart

Needs Playwright (``pip install -e ".[docs]"``) and a Chromium: Debian's ``apt-get install
chromium``, or ``SFTLAB_CHROMIUM=/path/to/chrome``. Nothing is downloaded (Playwright's own
browser download is not used). It took 19 minutes on a shared, heavily loaded 2-core machine,
almost all of it training and evaluating.

  python docs/make_screenshots.py --keep            # keep the store, print its folder
  python docs/make_screenshots.py --store sqlite:////tmp/x/mlflow.db   # shoot an existing store
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "ui"
EXPERIMENT = "sftlab"
SWEEP = [
    "-m",
    "lora.r=4,16",
    "dataset=belebele_letter_d",  # the 80 Belebele sample prompts, each answered "D": the eval shows the shift
    "dataset.eval_fraction=0.1",  # a held-out split, so the loss figure has an eval loss
    "model.prompt_format=plain",  # lm-eval's prompt, so what is learned shows in the score
    "training.max_steps=30",
    "training.logging_steps=5",
    "training.lr_scheduler_type=constant",
    "training.warmup_ratio=0",
]
VIEWPORT = {"width": 1280, "height": 900}


def fill_store(uri: str, work: Path) -> None:
    """Train the sweep into ``uri`` (one parent run, two child runs)."""
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        *SWEEP,
        f"logger.tracking_uri={uri}",
        f"logger.experiment_name={EXPERIMENT}",
        f"hydra.sweep.dir={work / 'multirun' / time.strftime('%H-%M-%S')}",  # as Hydra's default
    ]
    print("training:", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, cwd=work, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ui(uri: str, log: Path) -> tuple[subprocess.Popen, str]:
    """``mlflow ui`` on a free local port; returns the process and its URL once it answers."""
    port = _free_port()
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow ui exited ({proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(2)
    raise RuntimeError(f"mlflow ui did not answer within 300 s; see {log}")


def stop(proc: subprocess.Popen) -> None:
    """End the UI server we started (its own process group: uvicorn's worker too)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def chromium() -> str:
    """The Chromium to drive: ``SFTLAB_CHROMIUM``, else one on PATH."""
    found = os.environ.get("SFTLAB_CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
    )
    if not found:
        sys.exit("error: no Chromium found; apt-get install chromium, or set SFTLAB_CHROMIUM=/path/to/chrome")
    return found


def _settle(page, text: str) -> None:
    """Wait until ``text`` shows, close the assistant side panel, let the page finish drawing."""
    page.get_by_text(text).first.wait_for(timeout=180_000)
    close = page.locator('[data-component-id="mlflow.assistant.chat_panel.close"]')
    if close.count():
        close.first.click()
    _idle(page)


def _idle(page) -> None:
    """Let the page finish its requests (the UI polls some endpoints, so do not wait forever)."""
    try:
        page.wait_for_load_state("networkidle", timeout=20_000)
    except Exception:  # still polling: draw what is there
        pass
    time.sleep(3)


def _unfold_runs_table(page) -> None:
    """Show the sweep's child runs, every dataset of a run, and the whole run names.

    These are clicks a person makes; the selectors are MLflow 3.17's and each step is skipped
    when a later UI lays the table out differently.
    """
    children = page.locator('[data-component-id$="runnamecellrenderer.tsx_46"]')  # the parent's "+"
    for i in range(children.count()):
        children.nth(i).click()
    datasets = page.get_by_role("button", name="Expand rows")  # all inputs, not the first
    if datasets.count():
        datasets.first.click()
    header = page.locator('.ag-header-cell[col-id="attributes.`Run Name`"]')
    if header.count():  # widen the name column (drag its right edge): sftlab's names are longer
        box = header.first.bounding_box()
        x, y = box["x"] + box["width"] - 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 230, y, steps=10)
        page.mouse.up()
    _idle(page)


def shrink(path: Path) -> None:
    """Palette PNG (256 colours): screenshots of flat UI lose nothing visible, and a third of the bytes."""
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def shoot(url: str, uri: str) -> list[Path]:
    """The two screenshots of the store at ``uri`` served at ``url``."""
    from mlflow.tracking import MlflowClient
    from playwright.sync_api import sync_playwright

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([exp.experiment_id], "tags.`sftlab.stage` = 'train'")
    best = max(runs, key=lambda r: r.data.metrics.get("belebele/acc", 0.0))
    parent = client.search_runs([exp.experiment_id], "tags.`sftlab.stage` = 'sweep'")
    view = "?workflowType=machine_learning"  # the model-training view (see README)
    OUT.mkdir(parents=True, exist_ok=True)
    shots = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport=VIEWPORT)

        page.goto(f"{url}/#/experiments/{exp.experiment_id}/runs{view}", timeout=180_000)
        _settle(page, parent[0].info.run_name if parent else best.info.run_name)
        _unfold_runs_table(page)
        shots.append(OUT / "runs.png")
        page.screenshot(path=str(shots[-1]))

        page.goto(f"{url}/#/experiments/{exp.experiment_id}/runs/{best.info.run_id}{view}", timeout=180_000)
        _settle(page, "Description")
        more = page.locator('button[aria-label="Expand description"]')
        if more.count():
            more.first.click()
        _idle(page)
        shots.append(OUT / "run_page.png")
        page.screenshot(path=str(shots[-1]))
        browser.close()
    for shot in shots:
        shrink(shot)
    return shots


def main() -> None:
    """Fill a store (or take ``--store``), serve it, shoot it, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="an existing tracking URI to shoot instead of training a new one")
    parser.add_argument("--keep", action="store_true", help="keep the temporary store and print its folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sftlab-screenshots-"))
    uri = args.store or f"sqlite:///{work / 'mlflow.db'}"
    ui = None
    try:
        if not args.store:
            fill_store(uri, work)
        ui, url = start_ui(uri, work / "mlflow-ui.log")
        for shot in shoot(url, uri):
            print(f"wrote {shot.relative_to(ROOT)} ({shot.stat().st_size // 1024} KiB)")
    finally:
        if ui is not None:
            stop(ui)
        if args.keep:
            print(f"store kept: {uri}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
