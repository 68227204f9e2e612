"""The course website in a real browser: built once as `make site` builds it, then every page
loaded in headless Chromium from a local server on 127.0.0.1.

A page fails on a console error, a script error, a request that fails or leaves the machine,
a broken image, an internal link or anchor that leads nowhere, or any line of solution code,
hidden test or mark scheme in its text (checked against solutions/). The navigation lists
every notebook, search works offline, notebook pages show the reference run's figures and
checked claims, and math is typeset. The instructors' edition is built too and must be marked.

The build reuses the reference runs that tests/test_notebooks_run.py keeps (it runs first);
alone, this module executes the notebooks itself (about 4 minutes).
Screenshots of every page go to test-artifacts/site/.
"""

import functools
import http.server
import re
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from browser_tools import browser_unavailable_reason, launch_chromium, skip_or_fail
from course_tools import ASSIGNMENTS, MEASUREMENTS, ROOT
from website import build, executed, leak_check, student_view

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts" / "site"
VIEWPORT = {"width": 1280, "height": 900}
NOTEBOOK_PAGES = [f"notebooks/{assignment}.html" for assignment in ASSIGNMENTS]
OTHER_PAGES = ["index.html", "remedies.html", "glossary.html", "references.html", "instructors.html"]
SPHINX_PAGES = ["search.html", "genindex.html"]
PAGES = OTHER_PAGES + NOTEBOOK_PAGES + SPHINX_PAGES


# --- fixtures: the site built once, served on loopback, one Chromium ---------------------------
@pytest.fixture(scope="module")
def site():
    reason = browser_unavailable_reason()
    if reason:
        skip_or_fail(reason)
    started = time.perf_counter()
    html, warnings = build.build(report=lambda line: None)
    MEASUREMENTS["website build (make site, reference runs kept)"] = (
        f"{time.perf_counter() - started:.0f} s, {len(build.pages(html))} pages"
    )
    return html, warnings


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def serve():
    """serve(folder) -> base URL of a static server for `folder` on 127.0.0.1 (stopped after the module)."""
    servers = []

    def start(folder):
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def base_url(site, serve):
    return serve(site[0])


@pytest.fixture(scope="module")
def chromium(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def secrets():
    return build.all_secret_lines()


# --- one page, inspected ------------------------------------------------------------------------
class Visit:
    """One page opened in a fresh tab: what went wrong while it loaded, and what it shows."""

    def __init__(self, browser, url):
        self.problems = []
        self.context = browser.new_context(viewport=VIEWPORT)
        self.context.route("**/*", self._only_loopback)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("requestfailed", lambda request: self.problems.append(f"request failed: {request.url}"))
        self.page.on(
            "response",
            lambda response: response.status >= 400 and self.problems.append(f"{response.status}: {response.url}"),
        )
        self.page.goto(url, wait_until="networkidle")

    def _only_loopback(self, route):
        if urlsplit(route.request.url).hostname in {"127.0.0.1", "localhost"}:
            route.continue_()
        else:  # a site that works offline asks for nothing outside
            self.problems.append(f"request to an outside address: {route.request.url}")
            route.abort()

    def _console(self, message):
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def broken_images(self):
        return self.page.eval_on_selector_all(
            "img", "images => images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
        )

    def links(self):
        return self.page.eval_on_selector_all("a[href]", "anchors => anchors.map(a => a.href)")

    def text(self):
        return self.page.inner_text("body")

    def close(self):
        self.context.close()


def ids_in(path, _cache={}):
    if path not in _cache:
        _cache[path] = set(re.findall(r"""\b(?:id|name)=["']([^"']+)["']""", path.read_text()))
    return _cache[path]


def broken_internal_links(links, base_url, folder):
    """Links into the site whose page or anchor does not exist."""
    broken = []
    for link in links:
        if not link.startswith(base_url):
            continue  # outside links are not followed: the site must work without a network
        parts = urlsplit(link)
        relative = unquote(parts.path)[len(urlsplit(base_url).path) :]
        target = folder / relative
        if relative == "" or target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{link} (no page {relative})")
        elif parts.fragment and unquote(parts.fragment) not in ids_in(target):
            broken.append(f"{link} (no anchor #{parts.fragment} in {relative})")
    return sorted(set(broken))


def page_problems(visit, base_url, folder, secrets):
    """Everything wrong with an opened page, as readable lines (empty when it is fine)."""
    problems = list(visit.problems)
    problems += [f"broken image: {source}" for source in visit.broken_images()]
    problems += [f"broken link: {link}" for link in broken_internal_links(visit.links(), base_url, folder)]
    problems += [f"shows a line of solutions/: {line!r}" for line in leak_check.found_in(visit.text(), secrets)]
    return problems


def screenshot(visit, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / (name.replace("/", "_").removesuffix(".html") + ".png")
    visit.page.screenshot(path=str(path))
    return path


# --- the tests ------------------------------------------------------------------------------
def test_the_site_builds_without_warnings_and_has_every_page(site):
    html, warnings = site
    assert warnings == [], "sphinx-build warned:\n" + "\n".join(warnings)
    built = sorted(p.relative_to(html).as_posix() for p in build.pages(html))
    assert built == sorted(PAGES), f"pages built but not tested, or missing: {sorted(set(built) ^ set(PAGES))}"


@pytest.mark.parametrize("name", PAGES)
def test_every_page_loads_cleanly_offline_and_shows_no_solution(site, base_url, chromium, secrets, name):
    visit = Visit(chromium, base_url + name)
    try:
        problems = page_problems(visit, base_url, site[0], secrets)
        screenshot(visit, name)
    finally:
        visit.close()
    assert problems == [], f"{name}:\n" + "\n".join(problems)


def test_the_navigation_lists_every_notebook_and_every_reference_page(base_url, chromium):
    visit = Visit(chromium, base_url + "index.html")
    try:
        navigation = visit.page.eval_on_selector_all(
            "nav.bd-docs-nav a[href]", "anchors => anchors.map(a => a.getAttribute('href'))"
        )
    finally:
        visit.close()
    expected = NOTEBOOK_PAGES + OTHER_PAGES[1:]
    missing = [page for page in expected if page not in navigation]
    assert not missing, f"not in the side navigation: {missing} (it lists {navigation})"


def answer_echoes(assignment):
    """Lines the reference run printed from the solution's answer constants (a prediction's
    check echoing it, a verify cell printing it beside the measurement)."""
    run = executed.kept(assignment)
    answers = student_view.answer_constants(run)
    echoes = set()
    for cell in run.cells:
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("solution"):
            if student_view.uses_any(cell.source, answers):
                text = "".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)
                echoes |= {line.strip() for line in text.split("\n") if len(line.strip()) >= 25}
    released = nbformat.read(ROOT / "course" / assignment / f"{assignment}.ipynb", as_version=4)
    public = "\n".join(cell.source for cell in released.cells)  # a table's title may also be a heading
    return {line for line in echoes if line not in public}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_page_prints_the_answers_of_the_prediction_exercises(site, assignment):
    echoes = answer_echoes(assignment)
    assert echoes, f"{assignment}: expected outputs that depend on an answer in the reference run"
    page = leak_check.html_text((site[0] / "notebooks" / f"{assignment}.html").read_text())
    shown = sorted(line for line in echoes if line in page)
    assert not shown, f"{assignment}'s page prints what the reference run computed from the solution: {shown[:5]}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_pages_show_the_reference_run(site, base_url, chromium, assignment):
    visit = Visit(chromium, base_url + f"notebooks/{assignment}.html")
    try:
        figures = visit.page.locator(".cell_output img").count()
        stills = visit.page.locator(".live-note").count()
        notes_without_a_still = visit.page.eval_on_selector_all(
            ".live-note",
            """notes => notes.filter(note => {
                const before = note.parentElement.previousElementSibling;
                return !(before && (before.matches('img') || before.querySelector('ol.quiz-questions')));
            }).length""",
        )
        text = visit.text()
        if stills:
            note = visit.page.locator(".live-note").first
            note.scroll_into_view_if_needed()
            visit.page.screenshot(path=str(ARTIFACTS / f"{assignment}_widget_still.png"))
    finally:
        visit.close()
    assert figures >= 1, f"{assignment}: no figure among the outputs"
    assert stills >= 1, f"{assignment}: no explorer or quiz still with its note on how to open it live"
    assert notes_without_a_still == 0, f"{assignment}: a widget note with no picture (a widget without a fallback?)"
    assert "NotImplementedError" in text, f"{assignment}: the exercise cells should show the student's stub"
    if assignment != "01_relu_math":  # 01 has no experiment: its numbers are checked by its exercises
        assert "✔" in text, f"{assignment}: no checked claim (✔ …) with its measured value"


def test_math_is_typeset_offline(base_url, chromium):
    visit = Visit(chromium, base_url + "notebooks/05_initialization.html")
    try:
        visit.page.wait_for_selector("mjx-container", timeout=60_000)  # MathJax 3's typeset formulas
        typeset = visit.page.locator("mjx-container").count()
        raw = visit.page.locator("mjx-container mjx-merror").count()  # a formula MathJax could not read
        problems = list(visit.problems)
    finally:
        visit.close()
    assert typeset > 10 and raw == 0 and problems == [], (typeset, raw, problems)


def test_search_works_offline(base_url, chromium):
    visit = Visit(chromium, base_url + "search.html?q=dormant")
    try:
        visit.page.wait_for_selector("#search-results ul.search li a", timeout=30_000)
        found = visit.page.eval_on_selector_all(
            "#search-results ul.search li a", "anchors => anchors.map(a => a.getAttribute('href'))"
        )
        screenshot(visit, "search_dormant")
        problems = list(visit.problems)
    finally:
        visit.close()
    assert any("03_detecting_dead_units" in href for href in found), found
    assert problems == []


def test_the_page_check_catches_a_planted_solution_line(tmp_path, serve, chromium, secrets):
    """The check above, on a page with one line of a solution planted in a code cell."""
    planted = max(secrets, key=len)
    escaped = planted.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    tokens = " ".join(f'<span class="n">{token}</span>' for token in escaped.split(" "))
    (tmp_path / "page.html").write_text(
        f"<html><body><p>An honest paragraph.</p><div class='highlight'><pre>{tokens}</pre></div></body></html>"
    )
    base = serve(tmp_path)
    visit = Visit(chromium, base + "page.html")
    try:
        problems = page_problems(visit, base, Path(tmp_path), secrets)
    finally:
        visit.close()
    assert problems == [f"shows a line of solutions/: {planted!r}"]


def test_the_instructors_edition_is_marked_and_shows_the_solutions(site, secrets):
    html, warnings = build.build(solutions=True, report=lambda line: None)
    assert warnings == []
    assert html != site[0]
    index = (html / "index.html").read_text()
    assert "every page shows the solutions and the hidden tests" in index
    solution_pages = " ".join(leak_check.html_text((html / "notebooks" / f"{a}.html").read_text()) for a in ASSIGNMENTS)
    shown = leak_check.found_in(solution_pages, secrets)
    assert len(shown) > 50, f"the instructors' edition should show the solutions; found only {shown}"
    student_index = (site[0] / "index.html").read_text()
    assert "every page shows the solutions" not in student_index


def test_the_site_opens_from_the_file_system_without_a_server(site, chromium):
    """ "Open build/site/html/index.html in a browser", as the README says: no server at all."""
    problems = []
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    try:
        page.goto((site[0] / "index.html").as_uri(), wait_until="load")
        page.click("nav.bd-docs-nav a[href='notebooks/05_initialization.html']")
        page.wait_for_selector("mjx-container", timeout=60_000)
        images = page.eval_on_selector_all(".cell_output img", "images => images.map(i => i.naturalWidth)")
    finally:
        context.close()
    assert problems == [] and images and min(images) > 0, (problems, images)
