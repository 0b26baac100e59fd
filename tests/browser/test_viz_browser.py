"""ember.viz in a real browser: JupyterLab on a free localhost port, driven by Playwright with
Debian's Chromium (`apt-get install chromium`; Playwright's own browser download is never used).

It opens tests/fixtures/viz/viz_widgets.ipynb, runs every cell, and checks that
* the graph widget's SVG renders with every node and edge, and a node picked in the dropdown
  fills the info panel (a round trip through the kernel);
* the backprop stepper moves its highlight when its ▶ button is clicked;
* the loss plot's image appears and is redrawn while the loop runs.
Screenshots go to tests/artifacts/. Skips (with the reason) only when Chromium is absent.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "viz" / "viz_widgets.ipynb"
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


MORE_TRAINING = """
for step in range(240, 300):
    plot.update(step, loss=0.3 * 0.99 ** step, run="second run")
plot.flush()
"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


def _ensure_playwright():
    """Playwright's Python package comes from the project's test extra; install it from
    pyproject.toml's pin if this environment lacks it (never `playwright install`)."""
    try:
        import playwright.sync_api  # noqa: F401
        return
    except ImportError:
        pass
    text = (REPO / "pyproject.toml").read_text()
    spec = re.search(r'"(playwright[^"]*)"', text).group(1)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", spec], check=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); "
                    "the browser test needs it")
    _ensure_playwright()
    tmp = tmp_path_factory.mktemp("lab")
    root, data, cfg, rt = (tmp / d for d in ("root", "data", "config", "runtime"))
    for d in (root, data, cfg, rt):
        d.mkdir()
    shutil.copy(FIXTURE, root / FIXTURE.name)
    env = dict(os.environ)
    env.update(JUPYTER_DATA_DIR=str(data), JUPYTER_CONFIG_DIR=str(cfg), JUPYTER_RUNTIME_DIR=str(rt),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               PYTHONPATH=os.pathsep.join([str(REPO / "lib"), env.get("PYTHONPATH", "")]))
    # a kernel that runs this very interpreter with the repository's ember on its path
    kdir = data / "kernels" / "ember-viz-test"
    kdir.mkdir(parents=True)
    (kdir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "ember viz test", "language": "python",
        "env": {"PYTHONPATH": env["PYTHONPATH"], "MPLBACKEND": "Agg"}}))
    # no "get Jupyter news?" toast over the page
    notif = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True)
    (notif / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.check_for_updates_class="
           "jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp / "lab.log", "wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError("JupyterLab exited:\n" + (tmp / "lab.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("JupyterLab did not start in 90 s:\n"
                                   + (tmp / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
        yield dict(base=base, token=token, chromium=chromium, log=tmp / "lab.log")
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def _shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_widgets_render_and_update_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=lab["chromium"], headless=True,
                                    args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(f"{lab['base']}/lab/tree/{FIXTURE.name}?token={lab['token']}",
                      wait_until="domcontentloaded", timeout=60_000)
            page.wait_for_function(
                "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                " const k = w && w.sessionContext && w.sessionContext.session &&"
                " w.sessionContext.session.kernel; return k && k.status === 'idle'; }",
                timeout=90_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

            # 1. the graph: SVG with every node and edge of the description
            svg = page.locator(".ember-graph-svg svg.ember-graph").first
            svg.wait_for(timeout=60_000)
            n_nodes = int(svg.get_attribute("data-nodes"))
            n_edges = int(svg.get_attribute("data-edges"))
            assert n_nodes >= 8
            assert page.locator(".ember-graph-svg g.ember-node").count() == n_nodes
            assert page.locator(".ember-graph-svg path.ember-edge").count() == n_edges

            # 2. the loss plot appears and is redrawn while the loop runs
            img = page.locator(".ember-lossplot-image img, img.ember-lossplot-image").first
            img.wait_for(timeout=60_000)
            srcs = set()
            deadline = time.time() + 40
            while time.time() < deadline:      # watch it while the loop runs (informative)
                srcs.add(img.get_attribute("src"))
                if page.locator("text=TRAINING DONE").count():
                    break
                time.sleep(0.1)
            page.locator("text=TRAINING DONE").first.wait_for(timeout=30_000)
            _shot(page, "viz_after_run_all.png")
            assert img.evaluate("e => e.naturalWidth") > 100
            status = page.locator(".ember-lossplot-status").first
            status.locator("text=step 239").first.wait_for(timeout=20_000)
            # more training from the kernel: the picture in the page must follow
            before = img.get_attribute("src")
            page.evaluate(
                "code => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                ".requestExecute({code}).done", MORE_TRAINING)
            page.wait_for_function(
                "(before) => { const i = document.querySelector('img.ember-lossplot-image');"
                " return i && i.getAttribute('src') !== before && i.naturalWidth > 100; }",
                arg=before, timeout=30_000)
            status.locator("text=step 299").first.wait_for(timeout=30_000)
            srcs.add(img.get_attribute("src"))
            assert len(srcs - {None}) >= 2
            page.locator(".ember-lossplot-image").first.scroll_into_view_if_needed()
            _shot(page, "viz_lossplot.png")

            # 3. pick a node in the graph widget: the kernel answers with its summary
            picker = page.locator(".ember-node-picker select").first
            options = picker.locator("option").all_inner_texts()
            options = [o.replace("\xa0", " ") for o in options]   # ipywidgets writes nbsp
            target = next((k for k, o in enumerate(options) if o.startswith("w1 ")), None)
            assert target is not None, options
            picker.select_option(index=target)
            info = page.locator(".ember-graph-info").first
            info.locator(".ember-summary").first.wait_for(timeout=20_000)   # the kernel answered
            text = info.inner_text()
            assert "w1" in text and "value" in text and "min" in text
            page.locator(".ember-graph-svg g.ember-selected").first.wait_for(timeout=20_000)
            info.scroll_into_view_if_needed()
            _shot(page, "viz_graph_selected.png")

            # 4. the stepper: ▶ moves the highlight to the next node in backward order
            cur = page.locator(".ember-stepper-svg g.ember-current").first
            cur.wait_for(timeout=20_000)
            first = cur.get_attribute("data-id")
            page.locator(".widget-button", has_text="▶").first.click()
            page.wait_for_function(
                "(first) => { const g = document.querySelector('.ember-stepper-svg g.ember-current');"
                " return g && g.getAttribute('data-id') !== first; }", arg=first, timeout=20_000)
            page.locator(".ember-stepper-info").first.locator("text=step 2 of").wait_for(
                timeout=20_000)
            page.locator(".ember-stepper-svg").first.scroll_into_view_if_needed()
            _shot(page, "viz_stepper.png")
        except Exception:
            _shot(page, "viz_failure.png")
            print("JupyterLab log tail:\n" + lab["log"].read_text()[-3000:])
            raise
        finally:
            browser.close()
    assert not [e for e in errors if "ember" in e.lower()], errors
