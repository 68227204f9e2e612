"""The course tested as students use it: JupyterLab in headless Chromium, driven by clicks.

For every notebook in solutions/: Run → Run All Cells, wait for the run to end, no error
output and no "Error displaying widget"; then every explorer is driven through the page
(a slider dragged or typed into, a dropdown picked) and its figure must change. For every
notebook in course/: it opens, its first cells run, and Run All stops at the first exercise
stub with NotImplementedError. nbgrader's lab extension is loaded, and its Validate button
passes the 01 solution and fails the 01 student version.

One JupyterLab server (on a scratch copy of the course, so nothing is saved into the
repository) and one Chromium serve the whole module. Screenshots of every notebook after
its run, and of the page at any failure, go to test-artifacts/browser/.

Without Playwright or Chromium the tests are skipped with the reason; REQUIRE_BROWSER=1
(set by .ci/run) turns that into a failure.
"""

import re
import shutil
import time

import nbformat
import pytest

from browser_tools import (
    ARTIFACTS,
    LabPage,
    LabServer,
    browser_unavailable_reason,
    drag_slider,
    full_page_screenshot,
    image_signature,
    launch_chromium,
    pick_other_option,
    scratch_course,
    skip_or_fail,
    type_into_slider,
    wait_for_new_image,
)
from course_tools import ASSIGNMENTS, MEASUREMENTS, solution_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT = 180  # seconds for Run All of one notebook (the slowest takes ~35 s under nbclient)
RETRAIN_TIMEOUT = 60  # seconds for an explorer to redraw after a change (retraining ones take ~2 s)
QUIZ_NOTEBOOKS = {"09_interview_prep"}  # its widget is the self-check quiz; every other notebook has an explorer figure
VIEWPORT = {"width": 1400, "height": 1000}


def solution_path(assignment):
    return f"solutions/{assignment}/{assignment}.ipynb"


def course_path(assignment):
    return f"course/{assignment}/{assignment}.ipynb"


# --- fixtures: one server and one browser for the module, a fresh tab per test ---------
@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    reason = browser_unavailable_reason()
    if reason:
        skip_or_fail(reason)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # screenshots and logs of this run only
    root = scratch_course(tmp_path_factory.mktemp("lab-root"))
    server = LabServer(root, tmp_path_factory.mktemp("lab-home")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(lab_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            chromium = launch_chromium(playwright)
        except Exception as error:  # a Chromium that is there but cannot start
            skip_or_fail(f"Chromium did not start: {error}")
        yield chromium
        chromium.close()


@pytest.fixture
def lab(request, browser, lab_server):
    """A new browser tab (own context, own JupyterLab workspace); on failure a screenshot
    and the server's log go to test-artifacts/browser/."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    page = context.new_page()
    console_errors = []
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    failures_before = request.session.testsfailed
    lab = LabPage(page, lab_server, workspace=f"w{time.monotonic_ns()}")
    yield lab
    if request.session.testsfailed > failures_before:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            page.keyboard.press("Escape")  # close an open menu; a dialog stays
            # the whole notebook where one is open (the failure may be far below the fold)
            shot = full_page_screenshot(lab, f"FAILED-{name}") if lab.path else lab.screenshot(f"FAILED-{name}")
            print(f"screenshot of the failure: {shot}")
        except Exception as error:  # the page itself may be what broke
            print(f"no screenshot ({error})")
        log = ARTIFACTS / f"FAILED-{name}.log"
        log.write_text(lab_server.log_tail(20000) + "\n\nerrors in the page:\n" + "\n".join(console_errors))
        print(f"JupyterLab's log and the page's errors: {log}")
    context.close()
    lab_server.shut_down_kernels()


# --- nbgrader's lab extension ----------------------------------------------------------
def test_nbgrader_extension_is_loaded(lab):
    lab.open_notebook(course_path("01_relu_math"))
    assert lab.page.locator(".jp-NotebookPanel-toolbar .validate-button").is_visible(), (
        "no Validate button in the notebook toolbar"
    )
    lab.page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    items = lab.page.locator(".lm-Menu-content .lm-Menu-itemLabel").all_inner_texts()
    lab.page.keyboard.press("Escape")
    assert {"Assignment List", "Formgrader"} <= set(items), f"the Nbgrader menu shows {items}"


def validate(lab, path):
    lab.open_notebook(path)
    lab.page.locator(".jp-NotebookPanel-toolbar .validate-button").click()
    dialog = lab.page.locator(".jp-Dialog")
    header = dialog.locator(".jp-Dialog-header", has_text="Validation")  # "Validation Results" or "Validation failed"
    header.wait_for(timeout=180_000)
    body = dialog.locator(".jp-Dialog-body")
    text = body.inner_text()
    assert header.inner_text().strip() == "Validation Results", f"Validate: {header.inner_text()}: {text[:2000]}"
    lab.screenshot(f"validate-{path.split('/')[0]}-{path.split('/')[1]}")
    outcome = dialog.locator(".validation-success, .validation-failed, .validation-changed, .validation-passed").first
    return (outcome.get_attribute("class") if outcome.count() else ""), text


def test_validate_button_passes_the_01_solution(lab):
    outcome, text = validate(lab, solution_path("01_relu_math"))
    assert "validation-success" in outcome and "Success! Your notebook passes all the tests." in text, text[:2000]


def test_validate_button_fails_the_01_student_version(lab):
    outcome, text = validate(lab, course_path("01_relu_math"))
    assert "validation-failed" in outcome, text[:2000]
    tests = [
        cell
        for cell in nbformat.read(solution_notebook("01_relu_math"), as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution")
    ]
    assert text.count("The following cell failed:") == len(tests), text[:2000]  # every test cell: its answer is a stub
    assert "NotImplementedError" in text and "check_relu(relu)" in text


# --- every solution notebook: runs clean, widgets render and react ---------------------
def assert_no_errors(cells, widget_errors, path):
    failed = [f"cell {c['index']}: {e}" for c in cells for e in c["errors"]]
    assert not failed, f"{path}: error output in {failed}"
    assert not widget_errors, f"{path}: {widget_errors}"


def drive_explorer(lab, explorer, label):
    """Change the explorer's controls through the page; each change must redraw the figure.

    A slider is dragged with the mouse, a dropdown gets another option, and a second slider
    (or the only one, if there is no dropdown) gets a value typed into its readout.
    """
    image = explorer.locator("img.widget-image").first
    image.scroll_into_view_if_needed()
    signature = image_signature(image)
    assert signature and signature["bytes"] > 1000, f"{label}: no figure shown ({signature})"
    sliders = explorer.locator(".widget-slider:not(.mod-disabled)").all()
    dropdowns = [d for d in explorer.locator(".widget-dropdown select").all() if d.locator("option").count() > 1]
    assert sliders, f"{label}: no slider"
    changes = []

    before, after = drag_slider(sliders[0])
    signature = wait_for_new_image(
        lab, image, signature, f"{label}: dragging a slider from {before} to {after}", RETRAIN_TIMEOUT
    )
    changes.append(f"dragged {before} -> {after}")

    if dropdowns:
        before, after = pick_other_option(dropdowns[0])
        signature = wait_for_new_image(
            lab, image, signature, f"{label}: picking {after!r} (was {before!r})", RETRAIN_TIMEOUT
        )
        changes.append(f"picked {before} -> {after}")

    typable = [(s, v) for s in sliders[1:] + sliders[:1] if (v := value_to_type(s)) is not None]
    if typable and (len(sliders) > 1 or not dropdowns):
        slider, text = typable[0]
        before, after = type_into_slider(slider, text)
        assert after != before, f"{label}: typing {text} into the slider's readout left it at {before}"
        signature = wait_for_new_image(
            lab, image, signature, f"{label}: typing {text} into a slider (was {before})", RETRAIN_TIMEOUT
        )
        changes.append(f"typed {before} -> {after}")
    return changes


def value_to_type(slider):
    """A value to type into a slider's readout (its minimum, or its maximum when it is at the
    minimum), or None for a slider whose readout is not a number one can type."""
    readout = slider.locator(".widget-readout")
    if readout.get_attribute("contenteditable") != "true":
        return None
    handle = slider.locator(".noUi-handle")
    low, high, now = (float(handle.get_attribute(a)) for a in ("aria-valuemin", "aria-valuemax", "aria-valuenow"))
    try:
        shown = float(readout.inner_text())
    except ValueError:
        return None  # a selection slider shows labels
    target = high if abs(now - low) < 1e-9 else low
    if abs(shown - now) <= 1e-6 * max(1.0, abs(now)) + 0.01:  # a linear slider: the handle runs over values
        return f"{target:g}"
    if abs(shown - 10**now) <= 0.01 * 10**now:  # a log slider: the handle runs over exponents
        return f"{10**target:.3g}"
    return None


def drive_quiz(lab, quiz, label):
    """Pick each option of the first question in turn and click Check: feedback must come
    back every time, and exactly one option must be marked correct."""
    question = quiz.locator(".widget-radio-box").first
    block = question.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' widget-vbox ')][1]")
    options = question.locator("label")
    verdicts = []
    shows_verdict = "([block, shown]) => /Correct|Not quite/.test(block.innerText) === shown"
    for i in range(options.count()):
        options.nth(i).click()  # choosing another option clears the last verdict
        lab.page.wait_for_function(shows_verdict, arg=[block.element_handle(), False], timeout=30_000)
        block.get_by_role("button", name="Check").click()
        lab.page.wait_for_function(shows_verdict, arg=[block.element_handle(), True], timeout=30_000)
        lab.wait_kernel_idle()
        verdicts.append("Correct" in block.inner_text())
    assert verdicts.count(True) == 1, (
        f"{label}: the quiz's first question marked {verdicts} (one answer should be right)"
    )
    assert "1 checked" in quiz.inner_text(), f"{label}: the score line did not count the checked question"
    return [f"quiz question 1 checked with each of its {len(verdicts)} options"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_notebook_runs_in_jupyterlab_and_its_widgets_react(lab, assignment):
    path = solution_path(assignment)
    lab.open_notebook(path)
    started = time.perf_counter()
    cells = lab.run_all(RUN_TIMEOUT)
    seconds = time.perf_counter() - started
    MEASUREMENTS[f"browser: Run All of solutions/{assignment}"] = f"{seconds:.1f} s"
    code = [c for c in cells if c["type"] == "code"]
    widget_errors = lab.wait_widgets_rendered()
    full_page_screenshot(lab, f"solutions-{assignment}")
    lab.page.set_viewport_size(VIEWPORT)
    assert_no_errors(cells, widget_errors, path)
    assert all(c["count"] is not None for c in code), f"{path}: not every code cell ran"

    assert any(c["widgets"] for c in code), f"{path}: no widget was displayed"
    outputs = lab.widget_outputs()  # the explorer, the quiz (and tqdm's progress bars, where still shown)
    explorers = [o for o in outputs.all() if o.locator("img.widget-image").count()]
    if assignment in QUIZ_NOTEBOOKS:
        changes = drive_quiz(lab, outputs.last, path)
    else:
        assert explorers, f"{path}: no explorer figure rendered"
        changes = [c for i, e in enumerate(explorers) for c in drive_explorer(lab, e, f"{path}, explorer {i + 1}")]
    assert not lab.wait_widgets_rendered(), f"{path}: a widget failed after the changes"
    lab.screenshot(f"solutions-{assignment}-widget", outputs.last)
    print(f"{path}: ran in {seconds:.1f} s; {'; '.join(changes)}")


# --- every student notebook: opens, first cells run, stubs fail as expected ------------
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_notebook_runs_until_the_first_exercise_stub(lab, assignment):
    path = course_path(assignment)
    lab.open_notebook(path)
    cells = lab.run_all(RUN_TIMEOUT)
    widget_errors = lab.wait_widgets_rendered()
    full_page_screenshot(lab, f"course-{assignment}")
    code = [c for c in cells if c["type"] == "code"]
    stubs = [c["index"] for c in code if c["stub"] and c["nbgrader"].get("solution")]
    assert stubs, f"{path}: no exercise stub"
    failed = [c for c in code if c["errors"]]
    assert len(failed) == 1, (
        f"{path}: expected Run All to stop at one error, got {[(c['index'], c['errors']) for c in failed]}"
    )
    error_cell = failed[0]
    # the stub raises NotImplementedError; a public check that calls it says so in its own words
    assert re.match(r"NotImplementedError|AssertionError: .*is not implemented yet", error_cell["errors"][0]), (
        f"{path}: cell {error_cell['index']} failed with {error_cell['errors']}, not with the exercise stub's "
        "NotImplementedError"
    )
    next_stubs = [s for s in stubs if s > stubs[0]] + [len(cells)]
    assert stubs[0] <= error_cell["index"] < next_stubs[0], (
        f"{path}: the first error is in cell {error_cell['index']}, not at the first exercise (stub in cell {stubs[0]})"
    )
    before = [c for c in code if c["index"] < error_cell["index"]]
    after = [c for c in code if c["index"] > error_cell["index"]]
    assert before and all(c["count"] is not None for c in before), (
        f"{path}: the cells before the first exercise did not all run"
    )
    assert all(c["count"] is None for c in after), f"{path}: Run All went on past the failing exercise"
    assert not widget_errors, f"{path}: {widget_errors}"
    print(
        f"{path}: {len(before)} code cells ran, then cell {error_cell['index']} failed with {error_cell['errors'][0]}"
    )
