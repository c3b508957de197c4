"""The release in a real JupyterLab, driven in a real (headless) Chromium through Playwright.

Students meet the course in JupyterLab or Colab, never in ``pytest --nbmake``.
This test starts JupyterLab on 127.0.0.1 in a temporary course folder and, for
every release notebook with the answers filled in from ``solutions/``, runs all
cells the way a student does (Run > Run All Cells) in fast mode, then checks:

- no cell has an error output (read back from the notebook that JupyterLab saved);
- every figure output is rendered as an image that the browser decoded;
- every widget output is rendered as a widget (not "Loading widget..." or its text fallback),
  and notebook 3's loss slider changes the figure below it when it moves;
- a screenshot per notebook goes to ``$PIX2PIX_ARTIFACTS/browser`` (default
  ``runs/artifacts/browser``), kept by CI as an artefact.

It also autogrades one submission (the reference answers of notebook 2) and
checks that nbgrader's formgrader page lists it with its score, and that the
feedback HTML renders with the score and without the hidden tests.

The browser is the system's Chromium (``apt-get install chromium``; another one
with ``$PIX2PIX_CHROMIUM``), through Playwright's ``executable_path``: nothing is
downloaded. Without Chromium or the ``playwright`` package the test is skipped
with a message that says what to install.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
RELEASE = REPO / "notebooks"
ASSIGNMENTS = sorted(p.parent.name for p in RELEASE.glob("*/*.ipynb"))
FEEDBACK_ASSIGNMENT = "02_patchgan"
RUN_TIMEOUT_S = 600  # one notebook, fast mode, on a loaded 2-core machine

# one JupyterLab and one browser for the whole module: keep its tests on one xdist worker
pytestmark = pytest.mark.slow  # one work unit on one xdist worker: see tests/conftest.py


def _chromium() -> str | None:
    for candidate in (
        os.environ.get("PIX2PIX_CHROMIUM"),
        "chromium",
        "chromium-browser",
        "google-chrome",
    ):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


def _skip_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the browser test needs Playwright: `pip install playwright` (in `.[dev]`)"
    if _chromium() is None:
        return ("the browser test needs the system's Chromium: `sudo apt-get install chromium` "
                "(or set PIX2PIX_CHROMIUM to a Chromium/Chrome executable); .ci/run installs it")
    return None


SKIP = _skip_reason()
if SKIP:
    pytest.skip(SKIP, allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def answered(assignment: str):
    """The release notebook with every solution cell replaced by the instructor's answer."""
    solution = nbformat.read(next((SOLUTIONS / assignment).glob("*.ipynb")), as_version=4)
    answers = {_meta(c).get("grade_id"): c.source for c in solution.cells}
    nb = nbformat.read(next((RELEASE / assignment).glob("*.ipynb")), as_version=4)
    for cell in nb.cells:
        if _meta(cell).get("solution"):
            cell.source = answers[_meta(cell)["grade_id"]]
    return nb


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(
        PIX2PIX_FAST="1",  # what the kernels inherit: the notebooks' fast mode
        OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
        JUPYTER_CONFIG_DIR=str(tmp / "jupyter_config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "jupyter_runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        # JupyterLab 4 renders only the cells in view ("windowing"); render all of them
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
    )
    return env


def _nbgrader(*args: str, cwd: Path, env: dict) -> None:
    env = {
        k: v for k, v in env.items() if k != "PIX2PIX_FAST"
    }  # nbgrader's NBGRADER_EXECUTION gives fast mode
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (
        f"`nbgrader {' '.join(args)}` exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    )


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder: the release of every assignment answered under ``lab/``, and one graded
    submission."""
    root = tmp_path_factory.mktemp("browser_course")
    env = _env(root)
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    news = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    for assignment in ASSIGNMENTS:
        (root / "lab" / assignment).mkdir(parents=True)
        nbformat.write(answered(assignment), root / "lab" / assignment / f"{assignment}.ipynb")
    # nbgrader: the release of one assignment (registers it in gradebook.db), one submission,
    # feedback
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(
        SOLUTIONS / FEEDBACK_ASSIGNMENT, root / "solutions" / FEEDBACK_ASSIGNMENT
    )  # formgrader lists source/
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "generate_release.py"), FEEDBACK_ASSIGNMENT,
         "--out", str(root / "notebooks"), "--course-root", str(root)],
        cwd=REPO, env={k: v for k, v in env.items() if k != "PIX2PIX_FAST"},
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"generate_release.py failed:\n{proc.stdout}\n{proc.stderr}"
    submitted = root / "submitted" / "ref" / FEEDBACK_ASSIGNMENT
    submitted.mkdir(parents=True)
    nbformat.write(answered(FEEDBACK_ASSIGNMENT), submitted / f"{FEEDBACK_ASSIGNMENT}.ipynb")
    _nbgrader("autograde", FEEDBACK_ASSIGNMENT, "--student", "ref", "--create", cwd=root, env=env)
    _nbgrader("generate_feedback", FEEDBACK_ASSIGNMENT, "--student", "ref", cwd=root, env=env)
    return root, env


@pytest.fixture(scope="module")
def lab(course):
    """JupyterLab (with nbgrader's formgrader) on 127.0.0.1, serving the course folder:
    ``(url, token)``."""
    root, env = course
    port, token = _free_port(), "pix2pix-browser-test"
    log = open(root / "jupyterlab.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],  # CI containers run as root
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail(
                    f"JupyterLab did not start:\n{(root / 'jupyterlab.log').read_text()[-3000:]}"
                )
            time.sleep(0.5)
    yield url, token
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=_chromium(), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield b
        b.close()


def shutdown_kernels(url: str, token: str) -> None:
    """Stop every kernel of the server (each notebook's kernel holds torch and its data: ~1 GB)."""
    with urllib.request.urlopen(f"{url}/api/sessions?token={token}", timeout=30) as resp:
        sessions = json.load(resp)
    for session in sessions:
        req = urllib.request.Request(
            f"{url}/api/sessions/{session['id']}?token={token}", method="DELETE"
        )
        urllib.request.urlopen(req, timeout=60).close()


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()
    shutdown_kernels(*lab)


def artifacts() -> Path:
    folder = Path(os.environ.get("PIX2PIX_ARTIFACTS", REPO / "runs" / "artifacts")) / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# the notebook panel in view (JupyterLab keeps earlier tabs in the page, hidden)
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
PROMPTS_JS = """() => Array.from(document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell .jp-InputPrompt'))
                        .map(e => e.textContent.trim())"""


def dismiss_dialogs(page, path: str) -> None:
    """Close any modal JupyterLab dialog (e.g. a first-start prompt) that would block the menus.

    Its text is appended to ``artifacts()/dialogs.txt`` so that an unexpected one can be read.
    """
    for _ in range(3):
        dialog = page.locator(".jp-Dialog")
        if dialog.count() == 0:
            return
        text = " ".join(dialog.first.inner_text().split())[:300]
        with open(artifacts() / "dialogs.txt", "a") as f:
            f.write(f"{path}: {text}\n")
        buttons = dialog.first.locator(".jp-Dialog-button.jp-mod-accept, .jp-Dialog-button")
        if buttons.count():
            buttons.first.click()
        else:
            page.keyboard.press("Escape")
        time.sleep(0.5)


def run_all_cells(page, url: str, token: str, path: str) -> None:
    """Open ``path`` in JupyterLab, wait for its kernel, Run > Run All Cells, wait until every cell
    ran."""
    # a workspace of its own, so that JupyterLab does not restore the previous notebook's tab
    page.goto(f"{url}/lab/workspaces/{Path(path).stem}/tree/{path}?token={token}&reset")
    page.wait_for_selector(f"{PANEL} .jp-Notebook .jp-CodeCell", timeout=120_000)
    # the kernel is up when the toolbar's status says Idle
    expect(
        page.locator(
            f"{PANEL} .jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator[data-status='idle']"
        )
    ).to_be_attached(timeout=120_000)
    for _attempt in range(
        3
    ):  # a click can land while the page is still settling: check that the run started
        page.keyboard.press("Escape")
        dismiss_dialogs(page, path)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        started = time.monotonic() + 30
        while time.monotonic() < started:
            if any(p != "[ ]:" for p in page.evaluate(PROMPTS_JS)):
                break
            time.sleep(0.5)
        else:
            continue
        break
    else:
        pytest.fail(f"{path}: Run > Run All Cells did not start the notebook (3 tries)")
    deadline = time.monotonic() + RUN_TIMEOUT_S
    idle_polls = 0
    while True:
        time.sleep(1)
        prompts = page.evaluate(PROMPTS_JS)
        if prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            break
        # Run All stops at the first error: nothing queued, kernel idle -> done (the errors are
        # reported later)
        busy = (
            any(p == "[*]:" for p in prompts)
            or page.locator(
                f"{PANEL} .jp-NotebookPanel-toolbar "
                ".jp-Notebook-ExecutionIndicator[data-status='idle']"
            ).count()
            == 0
        )
        idle_polls = 0 if busy else idle_polls + 1
        if idle_polls >= 5:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"{path}: not every cell ran within {RUN_TIMEOUT_S} s; prompts: {prompts}")
    expect(
        page.locator(
            f"{PANEL} .jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator[data-status='idle']"
        )
    ).to_be_attached(timeout=60_000)


def save(page, disk_path: Path):
    """Save the notebook (Ctrl+S) and read it back from disk once JupyterLab has written it."""
    before = disk_path.stat().st_mtime_ns
    page.locator(f"{PANEL} .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 60
    while disk_path.stat().st_mtime_ns == before:
        if time.monotonic() > deadline:
            pytest.fail(f"JupyterLab did not save {disk_path.name} within 60 s")
        time.sleep(0.5)
    time.sleep(1)
    return nbformat.read(disk_path, as_version=4)


def _outputs(nb, kind: str) -> int:
    n = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type in ("display_data", "execute_result") and kind in out.get(
                "data", {}
            ):
                n += 1
    return n


def _decoded_images(page) -> int:
    return page.evaluate("""() => Array.from(document.querySelectorAll(
                                '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea img'))
                              .filter(i => i.complete && i.naturalWidth > 0).length""")


def move_slider(page, notebook: str) -> None:
    """Notebook 3: move the loss slider one step and check that the figure below it changes."""
    widget = page.locator(f"{PANEL} .widget-vbox").filter(has=page.locator(".widget-slider")).first
    image = widget.locator("img").first
    before = image.get_attribute("src")
    handle = widget.locator(".widget-slider .noUi-handle").first
    handle.focus()
    page.keyboard.press("ArrowLeft")
    deadline = time.monotonic() + 120
    while image.get_attribute("src") == before:
        if time.monotonic() > deadline:
            pytest.fail(
                f"{notebook}: moving the loss slider did not change the figure within 120 s"
            )
        time.sleep(0.5)
    readout = widget.locator(".widget-readout").first.text_content()
    assert readout and "L1 alone" in readout, (
        f"{notebook}: slider readout after one step left: {readout!r}"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_runs_in_jupyterlab(course, lab, page, assignment):
    root, _ = course
    url, token = lab
    rel = f"lab/{assignment}/{assignment}.ipynb"
    run_all_cells(page, url, token, rel)
    nb = save(page, root / rel)

    errors = [
        (i, o.ename, o.evalue[:200])
        for i, c in enumerate(nb.cells)
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert not errors, f"{assignment}: cells with errors (cell index, error, message): {errors}"
    not_run = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and c.get("execution_count") is None
    ]
    assert not not_run, f"{assignment}: cells that never ran (index): {not_run}"

    figures = _outputs(nb, "image/png")
    assert figures > 0, f"{assignment}: no figure output at all"
    deadline = time.monotonic() + 30
    while _decoded_images(page) < figures and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _decoded_images(page) >= figures, (
        f"{assignment}: {figures} figure outputs in the notebook, "
        f"{_decoded_images(page)} decoded images on the page"
    )

    widgets = _outputs(nb, "application/vnd.jupyter.widget-view+json")
    if widgets:
        rendered = page.locator(f"{PANEL} .jp-OutputArea .jupyter-widgets").count()
        assert rendered >= widgets, (
            f"{assignment}: {widgets} widget outputs, {rendered} rendered widgets"
        )
        assert page.get_by_text("Loading widget...").count() == 0, (
            f"{assignment}: a widget never loaded"
        )
    if assignment == "03_l1_term":
        assert widgets, "notebook 3 should show its loss-picker widget"
        move_slider(page, assignment)
    page.screenshot(path=str(artifacts() / f"{assignment}.png"))


def test_formgrader_and_feedback_render(course, lab, page):
    root, _ = course
    url, token = lab
    page.goto(f"{url}/formgrader?token={token}")
    expect(page.get_by_text(FEEDBACK_ASSIGNMENT).first).to_be_visible(timeout=60_000)
    page.goto(f"{url}/formgrader/gradebook/{FEEDBACK_ASSIGNMENT}/{FEEDBACK_ASSIGNMENT}?token={token}")
    # the submission's row (names are hidden by default) with the reference answers' full score
    expect(page.get_by_role("link", name="Submission #1")).to_be_visible(timeout=60_000)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Submission #1"))
    overall = row.get_by_role("gridcell").nth(2).inner_text().strip()
    got, full = (float(x) for x in overall.split("/"))
    assert got == full > 0, (
        f"formgrader shows {overall!r} for the reference answers, expected full marks"
    )
    page.screenshot(path=str(artifacts() / "formgrader.png"))

    html = root / "feedback" / "ref" / FEEDBACK_ASSIGNMENT / f"{FEEDBACK_ASSIGNMENT}.html"
    assert html.is_file(), f"no feedback HTML at {html}"
    page.goto(html.as_uri())
    text = page.locator("body").inner_text()
    match = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", text)
    assert match, f"the feedback page shows no score; it starts: {text[:300]!r}"
    assert float(match.group(1)) == float(match.group(2)) > 0, (
        f"the reference answers should score full marks: {match.group(0)}"
    )
    assert "BEGIN HIDDEN TESTS" not in page.content()
    page.screenshot(path=str(artifacts() / "feedback.png"), full_page=True)
