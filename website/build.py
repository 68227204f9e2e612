"""`make site`: build the course website into build/site/html (instructors: --solutions).

    python -m website.build               # the students' site: build/site/html/index.html
    python -m website.build --solutions   # the instructors' edition: build/site-solutions/html

1. Reference runs: each solution notebook executed top to bottom (website/executed.py; runs
   kept from `make test` or an earlier build are reused while nothing they ran has changed).
2. Pages: each notebook in the student's view with the reference run's outputs
   (website/student_view.py); the landing page's path through the course from the notebooks'
   own headers; the glossary and the instructor's guide from README.md's sections (one source
   for both); the hand-written pages of website/.
3. sphinx-build with myst-nb and the book theme (website/conf.py), offline.
4. The students' site is searched for every line of solution code, hidden test and mark
   scheme (website/leak_check.py); a site with one is moved aside and the build fails.
"""

import argparse
import importlib.metadata
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from website import executed, leak_check, student_view

ROOT = Path(__file__).resolve().parent.parent
WEBSITE = ROOT / "website"
COURSE = ROOT / "course"
README = ROOT / "README.md"
HAND_WRITTEN = ("remedies.md", "references.md", "conf.py", "favicon.svg")  # and index.md, completed by the build
MATHJAX = "sphinx-mathjax-offline/static/mathjax"  # MathJax 3, inside that package
INSERT = "% INSERT: {}"  # a line of website/index.md that the build replaces


def assignments():
    return sorted(p.name for p in executed.SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").is_file())


def build_folder(solutions):
    return ROOT / "build" / ("site-solutions" if solutions else "site")


# --- pages made from README.md and the notebooks ------------------------------------------
def readme_section(heading, text=None):
    """The body of README.md's section `heading` (e.g. "## Glossary"), up to the next heading of
    the same or a higher level."""
    text = README.read_text() if text is None else text
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.split("\n")
    try:
        start = lines.index(heading) + 1
    except ValueError:
        raise ValueError(f"README.md has no section {heading!r}: the website takes a page from it") from None
    end = next(
        (i for i in range(start, len(lines)) if re.match(rf"#{{1,{level}}} ", lines[i])),
        len(lines),
    )
    return "\n".join(lines[start:end]).strip() + "\n"


def readme_intro():
    """README.md from under its title to its first section: the question and who the course is for."""
    lines = README.read_text().split("\n")
    first_section = next(i for i, line in enumerate(lines) if line.startswith("## "))
    return "\n".join(lines[1:first_section]).strip() + "\n"


def promote_headings(markdown, levels=1):
    """'### x' -> '## x' (a README subsection becomes a page section)."""
    return re.sub(r"^(#{2,6}) ", lambda m: m.group(1)[levels:] + " ", markdown, flags=re.M)


HEADER = re.compile(r"\*\*Time:\*\* about (\d+) minutes · \*\*Prerequisites:\*\* (.+)")


def notebook_header(notebook):
    """(title, minutes, prerequisites, learning objectives) from a notebook's first cell."""
    first = next(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    title = first.split("\n", 1)[0].lstrip("# ").strip()
    match = HEADER.search(first)
    if not match:
        raise ValueError(f"{title}: the first cell must say '**Time:** about N minutes · **Prerequisites:** ...'")
    objectives = []
    if "**Learning objectives.**" in first:
        block = first.split("**Learning objectives.**", 1)[1].split("\n\n**", 1)[0]
        for line in block.split("\n"):
            if re.match(r"\d+\. ", line.strip()):
                objectives.append(re.sub(r"^\d+\. ", "", line.strip()))
            elif objectives and line.startswith("   "):
                objectives[-1] += " " + line.strip()
        if not objectives:  # one sentence: "After this notebook you can a, b, and c."
            sentence = " ".join(block.split()).split("you can ", 1)[-1].rstrip(".")
            objectives = [part for part in re.split(r",\s*(?:and\s+)?", sentence) if part]
    objectives = [objective.rstrip(";.") for objective in objectives]
    return title, int(match.group(1)), match.group(2).strip().rstrip("."), objectives


def course_path(notebooks):
    """The landing page's path: each notebook with its time, prerequisites and objectives."""
    total = 0
    parts = []
    for assignment, notebook in notebooks.items():
        title, minutes, prerequisites, objectives = notebook_header(notebook)
        total += minutes
        parts.append(f"### [{title}](notebooks/{assignment}.ipynb)\n")
        parts.append(f"**Time:** about {minutes} minutes  \n**Prerequisites:** {prerequisites}\n")
        if objectives:
            parts.append("After it you can\n")
            parts.extend(f"- {objective}" for objective in objectives)
            parts.append("")
    hours = total / 60
    intro = (
        f"Nine notebooks, about {total} minutes of work in all (about {hours:.0f} hours), each meant for one "
        f"sitting. The times are estimates for reading carefully and doing the exercises (the tests hold each "
        f"one to at least 1 minute per 100 words of prose plus 5 minutes per graded exercise); running a "
        f"notebook top to bottom takes under a minute on 2 CPU cores.\n"
    )
    return intro + "\n" + "\n".join(parts) + "\n"


# --- the build -------------------------------------------------------------------------------
def stage(source, runs, solutions):
    """Write every page's source into `source` (emptied first)."""
    shutil.rmtree(source, ignore_errors=True)
    (source / "notebooks").mkdir(parents=True)
    for name in HAND_WRITTEN:
        shutil.copy(WEBSITE / name, source / name)
    released = {}
    for assignment, run in runs.items():
        if solutions:
            page = student_view.solutions_page(run, assignment)
        else:
            path = COURSE / assignment / f"{assignment}.ipynb"
            if not path.is_file():
                raise SystemExit(f"course/{assignment}/{assignment}.ipynb is missing: generate it with `make release`")
            released[assignment] = nbformat.read(path, as_version=4)
            page = student_view.student_page(run, released[assignment], assignment)
        nbformat.write(page, source / "notebooks" / f"{assignment}.ipynb")
    headers = released or runs
    index = (WEBSITE / "index.md").read_text()
    for name, text in {"readme_intro": readme_intro(), "course_path": course_path(headers)}.items():
        if INSERT.format(name) not in index:
            raise ValueError(f"website/index.md lost its line {INSERT.format(name)!r}; the build puts {name} there")
        index = index.replace(INSERT.format(name), text)
    (source / "index.md").write_text(index)
    (source / "glossary.md").write_text("# Glossary\n\n" + readme_section("## Glossary"))
    (source / "instructors.md").write_text(
        "# Instructor's guide\n\n" + promote_headings(readme_section("## For instructors"))
    )
    mathjax = Path(importlib.metadata.distribution("sphinx-mathjax-offline").locate_file(MATHJAX))
    (source / "_mathjax").mkdir()
    (source / "_mathjax" / "mathjax").symlink_to(mathjax, target_is_directory=True)


def sphinx(source, html, solutions):
    """Run sphinx-build; returns its warnings (a list of lines)."""
    shutil.rmtree(html, ignore_errors=True)
    warnings = source.parent / "sphinx-warnings.txt"
    tags = ["-t", "solutions"] if solutions else []
    doctrees = ["-d", str(source.parent / "doctrees")]  # Sphinx's cache, kept out of the published folder
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", *tags, *doctrees, "-w", str(warnings)]
    command += [str(source), str(html)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"sphinx-build failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return [line for line in warnings.read_text().splitlines() if line.strip()]


def all_secret_lines():
    """Every line of solution code, hidden test and mark scheme in solutions/ that students cannot
    read elsewhere (course/, the helper package deadrelu/)."""
    return leak_check.course_secret_lines(
        [nbformat.read(executed.solution_notebook(a), as_version=4) for a in assignments()],
        [nbformat.read(COURSE / a / f"{a}.ipynb", as_version=4) for a in assignments()],
        sorted((ROOT / "deadrelu").rglob("*.py")),
    )


def refuse_if_leaking(html):
    """Move a site that shows a line of a solution or hidden test aside, and fail."""
    leaks = leak_check.site_leaks(html, all_secret_lines())
    if not leaks:
        return
    quarantine = html.with_name("html-LEAKS-SOLUTIONS-do-not-publish")
    shutil.rmtree(quarantine, ignore_errors=True)
    html.rename(quarantine)
    listing = "\n".join(f"  {path}: {lines[:3]}" for path, lines in leaks.items())
    raise SystemExit(
        f"The students' site would show solution or hidden-test lines; it was moved to {quarantine}:\n{listing}"
    )


def pages(html):
    """The site's pages (the theme keeps HTML templates of its own in _static/)."""
    return sorted(p for p in html.rglob("*.html") if p.relative_to(html).parts[0] != "_static")


def build(solutions=False, jobs=2, report=print):
    """Build the site; returns (html folder, sphinx warnings)."""
    started = time.perf_counter()
    folder = build_folder(solutions)
    runs = executed.reference_runs(assignments(), jobs=jobs, report=report)
    stage(folder / "source", runs, solutions)
    report("sphinx-build …")
    warnings = sphinx(folder / "source", folder / "html", solutions)
    for line in warnings:
        report(f"  warning: {line}")
    if not solutions:
        refuse_if_leaking(folder / "html")
    count = len(pages(folder / "html"))
    edition = "instructors' edition (WITH SOLUTIONS)" if solutions else "students' site"
    report(
        f"==> {edition}: {count} pages in {time.perf_counter() - started:.0f} s: open {folder / 'html' / 'index.html'}"
    )
    return folder / "html", warnings


def main(argv=None):
    parser = argparse.ArgumentParser(prog="make site", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--solutions", action="store_true", help="the instructors' edition, with solutions and hidden tests"
    )
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default 2)")
    arguments = parser.parse_args(argv)
    try:
        build(solutions=arguments.solutions, jobs=arguments.jobs)
    except (executed.ReferenceRunFailed, ValueError) as error:
        raise SystemExit(f"make site: {error}") from None


if __name__ == "__main__":
    main()
