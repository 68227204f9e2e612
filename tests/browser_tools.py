"""End-to-end helpers: JupyterLab on a loopback port, Debian's Chromium driven by Playwright.

The browser tests (tests/test_browser_*.py) use the course the way students do: open a
notebook in JupyterLab, run it from the Run menu, move sliders and pick from dropdowns,
click nbgrader's Validate button. Nothing here sleeps for a fixed time: every wait is on
something the page shows (the kernel's status, cell prompts, outputs, an image's source).

The server serves a scratch copy of the course (course/, solutions/, the nbgrader settings)
so that nothing a test runs or saves reaches the repository.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from course_tools import BIN, IGNORED_NAMES, ROOT

# Chromium's switches for a headless run on a closed network: without the background
# networking ones it keeps trying (and failing) to reach Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in containers; the page is our own local server
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
KERNEL_NAME = "deadrelu"
REQUIRED = os.environ.get("REQUIRE_BROWSER") == "1"

# Only what JupyterLab and nbgrader's Validate need; working folders of the grader stay out.
GRADER_WORKING_FOLDERS = (
    "submitted",
    "autograded",
    "feedback",
    "source_with_tests",
    "exchange",
    "runs",
    "gradebook.db",
    "gradebook.db-journal",
)

# JupyterLab settings for the scratch user: no news feed or update check (they would reach
# out to the internet and pop up a notification over the notebook).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


# --- is there a browser? ---------------------------------------------------------------
def chromium_executable():
    """The system Chromium (or $CHROMIUM), or None."""
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def browser_unavailable_reason():
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        return (
            f"the Python package playwright is not installed ({error}); `make test` installs it from requirements.txt"
        )
    if chromium_executable() is None:
        return (
            "no Chromium found (looked for $CHROMIUM, " + ", ".join(CHROMIUM_CANDIDATES) + "); "
            "as root on Debian/Ubuntu: apt-get install chromium"
        )
    return None


def skip_or_fail(reason):
    """Skip with a visible reason; with REQUIRE_BROWSER=1 (CI), fail instead."""
    if REQUIRED:
        pytest.fail(f"REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason} (set REQUIRE_BROWSER=1 to make this an error)")


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=chromium_executable(), headless=True, args=CHROMIUM_ARGS)


# --- JupyterLab on a loopback port -----------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scratch_course(root):
    """Copy what the students' and instructors' JupyterLab serves into `root`."""
    root = Path(root)
    ignore = shutil.ignore_patterns(*IGNORED_NAMES)
    for folder in ("course", "solutions"):
        shutil.copytree(ROOT / folder, root / folder, ignore=ignore)
    shutil.copytree(
        ROOT / "autograder", root / "autograder", ignore=shutil.ignore_patterns(*IGNORED_NAMES, *GRADER_WORKING_FOLDERS)
    )
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    return root


class LabServer:
    """`jupyter lab` from the course's environment, serving `root` on 127.0.0.1 with a token."""

    def __init__(self, root, home):
        self.root = Path(root)
        self.home = Path(home)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = self.home / "jupyter-lab.log"
        self.process = None

    def start(self, timeout=120):
        settings = self.home / "lab-user-settings"
        for name, values in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        environment = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            # a scratch user: no settings, workspaces or runtime files of the person running the tests
            "JUPYTER_CONFIG_DIR": str(self.home / "config"),
            "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
            "IPYTHONDIR": str(self.home / "ipython"),
        }
        command = [
            str(BIN / "jupyter"),
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={self.home / 'workspaces'}",
            # window.jupyterapp: the tests read cell outputs from the notebook model (as Galata does)
            "--LabApp.expose_app_in_browser=True",
        ]
        if os.getuid() == 0:
            command.append("--allow-root")
        self._log = open(self.log_path, "wb")
        # nbgrader's Validate reads nbgrader_config.py from the server's working folder
        self.process = subprocess.Popen(
            command, cwd=self.root, env=environment, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.get("/api/status")
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"jupyter lab did not start:\n{self.log_tail()}")
                time.sleep(0.2)  # polling a port that is not open yet; not a wait for the page

    def get(self, path):
        separator = "&" if "?" in path else "?"
        with urllib.request.urlopen(f"{self.base}{path}{separator}token={self.token}", timeout=10) as response:
            return json.loads(response.read() or b"null")

    def shut_down_kernels(self):
        """Shut down every kernel (between tests, so that no notebook's kernel competes with the next)."""
        for kernel in self.get("/api/kernels"):
            request = urllib.request.Request(
                f"{self.base}/api/kernels/{kernel['id']}?token={self.token}", method="DELETE"
            )
            try:
                urllib.request.urlopen(request, timeout=30).close()
            except OSError:
                pass  # already gone

    def log_tail(self, characters=4000):
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except OSError:
            return "(no log)"

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        if getattr(self, "_log", None):
            self._log.close()


# --- the page: JupyterLab as a student sees it -----------------------------------------
# Reading state goes through the page's JupyterLab application object (exposed by
# --LabApp.expose_app_in_browser, as Galata does): the notebook model knows each output's
# type exactly, which the rendered page only hints at.
PAGE_HELPERS = """
window.__course = {
  panel(path) {
    for (const widget of window.jupyterapp.shell.widgets('main')) {
      if (widget.context && widget.context.path === path && widget.content && widget.content.model) return widget;
    }
    return null;
  },
  kernel(path) {
    const panel = this.panel(path);
    const session = panel && panel.sessionContext.session;
    return session ? session.kernel : null;
  },
  kernelIdle(path) {
    const kernel = this.kernel(path);
    const panel = this.panel(path);
    const indicator = panel && panel.node.querySelector('.jp-Notebook-ExecutionIndicator');
    return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle'
      && !!indicator && indicator.dataset.status === 'idle';
  },
  cells(path) {
    const panel = this.panel(path);
    const cells = [];
    let index = 0;
    for (const cell of panel.content.model.cells) {
      const outputs = cell.type === 'code' ? cell.outputs.toJSON() : [];
      cells.push({
        index: index++,
        type: cell.type,
        count: cell.type === 'code' ? cell.executionCount : null,
        source: cell.sharedModel.getSource().slice(0, 200),
        stub: cell.sharedModel.getSource().includes('raise NotImplementedError'),
        nbgrader: (cell.getMetadata && cell.getMetadata('nbgrader')) || {},
        outputTypes: outputs.map(o => o.output_type),
        errors: outputs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`),
        widgets: outputs.filter(o => o.data && o.data['application/vnd.jupyter.widget-view+json']).length,
      });
    }
    return cells;
  },
  runFinished(path) {
    // idle kernel, nothing queued or running, and either every code cell ran or one failed
    // (JupyterLab's Run All stops at the first error and un-queues the rest)
    if (!this.kernelIdle(path)) return false;
    const panel = this.panel(path);
    const prompts = [...panel.node.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent);
    if (prompts.some(p => p.includes('*'))) return false;
    const code = this.cells(path).filter(c => c.type === 'code');
    return code.every(c => c.count !== null) || code.some(c => c.errors.length > 0);
  },
  widgetProblems(path) {
    const panel = this.panel(path);
    const texts = [...panel.node.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent);
    // a top-level widget that fails shows "Error displaying widget"; a child widget inside a
    // box, ipywidgets' error placeholder ("Click to show javascript error.")
    const placeholders = [...panel.node.querySelectorAll('.jupyter-widgets-error-widget')].map(
      () => "a widget failed to render: ipywidgets' error placeholder ('Click to show javascript error.')");
    return {
      errors: texts.filter(t => t.includes('Error displaying widget')).concat(placeholders),
      loading: texts.filter(t => t.includes('Loading widget')),
    };
  },
};
"""

# ipywidgets shows an Image's bytes through a blob: URL and revokes the old URL when a new
# value arrives, so a fetch can race a redraw: then read the new source and try again.
IMAGE_SIGNATURE = """async (image) => {
  for (let attempt = 0; ; attempt++) {
    const src = image.src;
    if (!src) return null;
    try {
      const bytes = await (await fetch(src)).arrayBuffer();
      const digest = await crypto.subtle.digest('SHA-256', bytes);
      const sha256 = [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('');
      return {src, sha256, bytes: bytes.byteLength};
    } catch (error) {
      if (attempt >= 5 || image.src === src) throw error;
    }
  }
}"""


class LabPage:
    """One browser tab on the lab server, with the actions a student takes."""

    def __init__(self, page, server, workspace):
        self.page = page
        self.server = server
        self.workspace = workspace
        self.path = None

    # -- opening and running --
    def open_notebook(self, path, timeout=90):
        """Open `path` (relative to the server's root) in a fresh workspace; wait for its kernel."""
        self.path = path
        self.page.goto(f"{self.server.base}/lab/workspaces/{self.workspace}/tree/{path}?token={self.server.token}")
        self.page.wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.started)", timeout=timeout * 1000)
        self.page.evaluate(PAGE_HELPERS)
        self.page.wait_for_function("path => window.__course.kernelIdle(path)", arg=path, timeout=timeout * 1000)
        kernel = self.page.evaluate("path => window.__course.kernel(path).name", path)
        assert kernel == KERNEL_NAME, f"{path} opened with kernel {kernel!r}, not {KERNEL_NAME!r}"
        return self

    def menu(self, menu, item):
        """Click `item` in the menu bar's `menu` (e.g. Run -> Run All Cells)."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
        self.page.locator(".lm-Menu-content .lm-Menu-item:not(.lm-mod-hidden) .lm-Menu-itemLabel").get_by_text(
            item, exact=True
        ).click()

    def run_all(self, timeout=180):
        """Run → Run All Cells, then wait until the run is over (all ran, or it stopped at an error)."""
        self.menu("Run", "Run All Cells")
        self.page.wait_for_function(
            "path => window.__course.runFinished(path)", arg=self.path, timeout=timeout * 1000, polling=250
        )
        return self.cells()

    def cells(self):
        return self.page.evaluate("path => window.__course.cells(path)", self.path)

    def wait_kernel_idle(self, timeout=60):
        self.page.wait_for_function(
            "path => window.__course.kernelIdle(path)", arg=self.path, timeout=timeout * 1000, polling=100
        )

    def wait_widgets_rendered(self, timeout=30):
        """Wait until no widget output still says 'Loading widget...'; return the widget errors shown."""
        self.page.wait_for_function(
            "path => window.__course.widgetProblems(path).loading.length === 0", arg=self.path, timeout=timeout * 1000
        )
        return self.page.evaluate("path => window.__course.widgetProblems(path).errors", self.path)

    # -- what the page shows --
    def notebook(self):
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")

    def widget_outputs(self):
        """The rendered widget outputs (one locator per displayed top-level widget)."""
        return self.notebook().locator(".jp-OutputArea-output:has(> .jupyter-widgets)")

    def screenshot(self, name, locator=None):
        """Save a screenshot under test-artifacts/browser/ and return its path."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        (locator or self.page).screenshot(path=str(path))
        return path


# --- driving widgets through the page --------------------------------------------------
def image_signature(image):
    """(src, sha256 of the bytes) of a rendered ipywidgets Image."""
    return image.evaluate(IMAGE_SIGNATURE)


def wait_for_new_image(lab, image, before, what, timeout=60):
    """Wait until the figure's source changes from `before`, then until the kernel is idle again.

    Returns the new signature; fails with a clear message when the figure never changes.
    """
    try:
        image.page.wait_for_function(
            "([image, src]) => image.src && image.src !== src",
            arg=[image.element_handle(), before["src"]],
            timeout=timeout * 1000,
            polling=100,
        )
    except Exception as error:  # playwright's TimeoutError
        raise AssertionError(f"{what}: the figure did not change within {timeout} s") from error
    lab.wait_kernel_idle(timeout)
    after = image_signature(image)
    assert after["sha256"] != before["sha256"], f"{what}: the figure was redrawn but shows the same picture"
    return after


def slider_value(slider):
    return slider.locator(".widget-readout").inner_text().strip()


def drag_slider(slider):
    """Drag the slider's handle to a quarter or three quarters of its track (whichever is
    farther), as a mouse does; return the readout before and after."""
    before = slider_value(slider)
    track = slider.locator(".noUi-target")
    handle = slider.locator(".noUi-handle")
    handle.scroll_into_view_if_needed()
    box, grip = track.bounding_box(), handle.bounding_box()
    x, y = grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2
    position = (x - box["x"]) / box["width"]
    target = box["x"] + box["width"] * (0.25 if position > 0.5 else 0.75)
    mouse = slider.page.mouse
    mouse.move(x, y)
    mouse.down()
    mouse.move(target, y, steps=4)
    mouse.up()
    after = slider_value(slider)
    assert after != before, f"dragging the slider left it at {before}"
    return before, after


def type_into_slider(slider, text):
    """Type a value into the slider's editable readout and press Enter."""
    readout = slider.locator(".widget-readout")
    before = readout.inner_text().strip()
    readout.click()
    slider.page.keyboard.press("Control+A")
    slider.page.keyboard.type(text)
    slider.page.keyboard.press("Enter")
    return before, readout.inner_text().strip()


def pick_other_option(select):
    """Pick an option of a dropdown other than the selected one (the next, or the first)."""
    options = select.locator("option").evaluate_all("options => options.map(o => o.value)")
    current = select.evaluate("s => s.value")
    choice = options[(options.index(current) + 1) % len(options)]
    select.select_option(choice)
    return current, choice


def full_page_screenshot(lab, name, max_height=16000):
    """A screenshot of the whole notebook: the window is made as tall as the notebook first
    (JupyterLab scrolls inside its own panel, so a plain full-page shot shows one screen)."""
    page = lab.page
    outer = lab.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer")
    width = page.viewport_size["width"]
    extra = page.viewport_size["height"] - outer.bounding_box()["height"]
    height = int(min(outer.evaluate("o => o.scrollHeight") + extra, max_height))
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_function("([h]) => window.innerHeight === h", arg=[height])
    # Lumino lays the panels out again on the next animation frames
    outer.evaluate("o => o.scrollTo(0, 0)")
    page.wait_for_function(
        "([o, h]) => o.clientHeight >= Math.min(o.scrollHeight, h) - 2", arg=[outer.element_handle(), height - extra]
    )
    return lab.screenshot(name)
