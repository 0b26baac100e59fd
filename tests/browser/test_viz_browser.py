"""ember.viz in a real browser: JupyterLab on a free localhost port, driven by Playwright with
Debian's Chromium (`apt-get install chromium`; Playwright's own browser download is never used).

* The course notebooks that draw graphs (01, 02 and 06, with their solutions) run top to bottom:
  every graph widget's SVG holds as many node boxes as its `data-nodes` says and fits the
  notebook's width without scrolling sideways; a click on a box selects it (the kernel answers
  in the info panel); the backprop stepper's ▶ moves its highlighted node; a LossPlot in them is
  redrawn while its cell runs.
* The fixture tests/fixtures/viz/viz_widgets.ipynb trains for ~5 s feeding a LossPlot: the
  picture in the page must change at least twice a second while the loop runs.

The widgets are found by the classes and data attributes they emit (`.ember-graph-widget`,
`svg.ember-graph[data-nodes]`, `g.ember-node[data-id]`, `g.ember-current`, `.ember-stepper`,
`svg.ember-lossplot[data-draws]`, `.ember-compare`, `.ember-passes`), not by notebook text.
Screenshots of each widget go to tests/artifacts/. Skips (with the reason) only when Chromium is
absent.
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

from autograder.course import not_course_files

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "viz" / "viz_widgets.ipynb"
SOURCE = REPO / "course" / "source"
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 1500}      # a laptop's width, JupyterLab's default layout;
                                                # tall, so that screenshots hold whole graphs
# what each course notebook must show (the list): graph widgets, a stepper, comparisons
EXPECT = {
    "01_backprop": {"graph", "stepper"},
    "02_autograd": {"graph", "stepper"},
    "06_static_vs_dynamic": {"graph", "compare"},
}


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
    for name in EXPECT:                    # each assignment's folder, with its data files
        shutil.copytree(SOURCE / name, root / name, ignore=not_course_files)
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
    settings = tmp / "settings" / "@jupyterlab"
    (settings / "apputils-extension").mkdir(parents=True)      # no "get Jupyter news?" toast
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false"}')
    (settings / "notebook-extension").mkdir(parents=True)      # every cell stays in the DOM
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        '{"windowingMode": "none"}')
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True", "--LabApp.check_for_updates_class="
           "jupyterlab.NeverCheckForUpdate", "--MappingKernelManager.default_kernel_name="
           "ember-viz-test"]
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


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=lab["chromium"], headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _shot(target, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(ARTIFACTS / name))


KERNEL_IDLE = ("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
               " const k = w && w.sessionContext && w.sessionContext.session &&"
               " w.sessionContext.session.kernel; return !!k && k.status === 'idle'; }")

# the notebook's state: is the kernel idle, how many code cells ran / wait, any error output,
# and every LossPlot's redraw counter now
STATE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = w.content.model.cells;
  let code = 0, ran = 0, error = null;
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    code += 1;
    if (c.executionCount !== null) ran += 1;
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j);
      if (o.type === 'error' && error === null)
        error = 'cell ' + i + ': ' + o.toJSON().ename + ': ' + o.toJSON().evalue;
    }
  }
  const draws = [...document.querySelectorAll('svg.ember-lossplot')].map(
      s => +s.getAttribute('data-draws'));
  const running = [...document.querySelectorAll('.jp-InputPrompt')].some(
      e => e.textContent.includes('*'));
  return {idle: !!k && k.status === 'idle', code, ran, error, draws, running};
}"""


def open_and_run(page, lab, path, timeout=240):
    """Open `path`, Run All, wait until every cell ran; return the LossPlot redraw counts seen
    meanwhile (one list of (seconds, counts) samples)."""
    space = re.sub(r"\W", "-", path)              # a fresh workspace: only this notebook open
    page.goto(f"{lab['base']}/lab/workspaces/{space}/tree/{path}?token={lab['token']}&reset",
              wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_function(
        "(path) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return !!w && !!w.context && w.context.path === path; }", arg=path, timeout=120_000)
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    # not awaited: the command's promise settles only when every cell has run
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    samples, quiet_since, t0 = [], None, time.time()
    while True:
        st = page.evaluate(STATE)
        samples.append((time.time() - t0, st["draws"]))
        if st["error"]:
            raise AssertionError(f"{path}: {st['error']}")
        done = st["idle"] and not st["running"] and st["ran"] == st["code"]
        quiet_since = (quiet_since or time.time()) if done else None
        if quiet_since and time.time() - quiet_since > 1.5:
            return samples
        if time.time() - t0 > timeout:
            raise AssertionError(f"{path}: Run All did not finish in {timeout} s ({st})")
        time.sleep(0.1)


def check_graphs(page, name):
    """Every graph drawing: node boxes as many as data-nodes, fits the notebook's width."""
    svgs = page.locator("svg.ember-graph")
    assert svgs.count() >= 1, f"{name}: no graph drawn"
    for k in range(svgs.count()):
        svg = svgs.nth(k)
        n = int(svg.get_attribute("data-nodes"))
        assert n >= 2 and svg.locator("g.ember-node").count() == n, name
    widths = page.evaluate("""() => [...document.querySelectorAll('.ember-graph-svg')].map(
        e => { const c = e.querySelector('.widget-html-content') || e;
               return [c.scrollWidth, c.clientWidth]; })""")
    for scroll, client in widths:
        assert scroll <= client + 2, f"{name}: a graph needs sideways scrolling ({widths})"
    labels = page.evaluate("""() => [...document.querySelectorAll('svg.ember-graph')].map(
        s => s.getBoundingClientRect().width / (+s.getAttribute('width')) *
             (+s.getAttribute('font-size')))""")
    assert min(labels) >= 10.9, f"{name}: graph labels drawn at {min(labels):.1f} px"


def check_click_selects(page, name):
    widget = page.locator(".ember-graph-widget").first
    node = widget.locator("svg.ember-graph g.ember-node").last
    node.scroll_into_view_if_needed()
    nid = node.get_attribute("data-id")
    node.click()
    widget.locator(f"svg.ember-graph g.ember-selected[data-id='{nid}']").wait_for(timeout=20_000)
    widget.locator(".ember-graph-info b").first.wait_for(timeout=20_000)
    _shot(widget, f"{name}_graph_clicked.png")


def check_stepper(page, name):
    stepper = page.locator(".ember-stepper").first
    stepper.scroll_into_view_if_needed()
    cur = stepper.locator("g.ember-current").first
    first = cur.get_attribute("data-id")
    stepper.locator(".widget-button", has_text="▶").first.click()
    page.wait_for_function(
        "(first) => { const g = document.querySelector('.ember-stepper g.ember-current');"
        " return g && g.getAttribute('data-id') !== first; }", arg=first, timeout=20_000)
    stepper.locator(".ember-stepper-info").first.locator("text=step 2 of").wait_for(
        timeout=20_000)
    _shot(stepper, f"{name}_stepper.png")
    # a click on a box jumps to the step where that node runs
    box = stepper.locator("g.ember-node[data-pick]:not(.ember-current)").first
    target = box.get_attribute("data-id")
    box.click()
    stepper.locator(f"g.ember-current[data-id='{target}']").wait_for(timeout=20_000)


def redraws_while_running(samples, index) -> int:
    """How many different pictures LossPlot `index` showed before its last one."""
    seen = [d[index] for _, d in samples if len(d) > index]
    return len(set(seen[:-1] if seen else []))


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_course_notebook_widgets(lab, browser, name):
    page = browser.new_page(viewport=VIEWPORT)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        samples = open_and_run(page, lab, f"{name}/{name}.ipynb")
        expect = EXPECT[name]
        if "graph" in expect:
            check_graphs(page, name)
            if page.locator(".ember-graph-widget").count():
                check_click_selects(page, name)
        if "stepper" in expect:
            assert page.locator(".ember-stepper").count() >= 1, f"{name}: no backprop stepper"
            check_stepper(page, name)
        if "compare" in expect:
            comp = page.locator(".ember-compare, .ember-passes")
            assert comp.count() >= 1, f"{name}: no before/after comparison"
            comp.first.scroll_into_view_if_needed()
            _shot(comp.first, f"{name}_compare.png")
        plots = page.locator("svg.ember-lossplot")
        for k in range(plots.count()):          # a LossPlot here moved while its cell ran
            assert redraws_while_running(samples, k) >= 2, (name, k)
            plots.nth(k).scroll_into_view_if_needed()
            _shot(plots.nth(k), f"{name}_lossplot_{k}.png")
        views = page.locator(".ember-graph-svg, .ember-stepper-svg, .ember-compare-panel")
        for k in range(min(views.count(), 8)):      # what a student sees: the scrolling box
            views.nth(k).evaluate("e => { e.scrollTop = 0; e.querySelectorAll('*').forEach("
                                  "c => { if (c.scrollTop) c.scrollTop = 0; }); }")
            views.nth(k).scroll_into_view_if_needed()
            _shot(views.nth(k), f"{name}_graph_{k}.png")
        passes = page.locator(".ember-passes")
        if passes.count():              # its table, and the drawings of the pass it shows
            table = passes.first.locator(".ember-passes-table")
            table.scroll_into_view_if_needed()
            _shot(table, f"{name}_passes_table.png")
            panels = passes.first.locator(".ember-compare-panel")
            for k in range(panels.count()):
                panels.nth(k).scroll_into_view_if_needed()
                _shot(panels.nth(k), f"{name}_passes_{k}.png")
    except Exception:
        _shot(page, f"{name}_failure.png")
        print("JupyterLab log tail:\n" + lab["log"].read_text()[-3000:])
        raise
    finally:
        page.close()
    assert not [e for e in errors if "ember" in e.lower()], errors


def test_lossplot_moves_while_training(lab, browser):
    """A ~5 s loop: the picture in the page keeps changing while training runs (the rate itself,
    >= 2 redraws/s, is measured by bench/viz.py: a timed assertion here would fail on a busy machine)."""
    page = browser.new_page(viewport=VIEWPORT)
    try:
        samples = open_and_run(page, lab, FIXTURE.name)
        seen = [(t, d[0]) for t, d in samples if d]
        changes = [t for (t, c), (_, prev) in zip(seen[1:], seen) if c != prev]
        trace = [(round(t, 1), c) for t, c in seen[::5]]
        assert len(changes) >= 2, f"the plot did not change while training ran: {trace}"
        seconds = changes[-1] - changes[0]
        assert seconds > 2 and len(changes) >= 4, (len(changes), seconds, trace)
        plot = page.locator("svg.ember-lossplot").first
        legend = plot.locator("g.ember-plot-legend text").evaluate_all(
            "els => els.map(e => e.textContent.trim())")
        assert {"train loss", "val loss", "learning rate"} <= set(legend)
        status = page.locator(".ember-lossplot-status").first.inner_text()
        assert "step 239" in status and "redraw" not in status
        plot.scroll_into_view_if_needed()
        _shot(plot, "fixture_lossplot.png")
        # picking a node in the dropdown still works (a round trip through the kernel)
        picker = page.locator(".ember-node-picker select").first
        options = [o.replace("\xa0", " ") for o in picker.locator("option").all_inner_texts()]
        target = next(k for k, o in enumerate(options) if o.startswith("w1 "))
        picker.select_option(index=target)
        info = page.locator(".ember-graph-info").first
        info.locator(".ember-summary").first.wait_for(timeout=20_000)
        assert "w1" in info.inner_text() and "min" in info.inner_text()
        info.locator("svg.ember-heatmap .ember-colorbar").first.wait_for(timeout=20_000)
        _shot(page.locator(".ember-graph-widget").first, "fixture_graph_selected.png")
    except Exception:
        _shot(page, "fixture_failure.png")
        print("JupyterLab log tail:\n" + lab["log"].read_text()[-3000:])
        raise
    finally:
        page.close()
