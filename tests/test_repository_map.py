"""The README's "Repository layout" is the one map of the code: every module is on it, nothing on it is gone."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPPED_PACKAGES = ("deadrelu", "autograder", "website", "classroom")


def readme_map(readme_text):
    """The paths the layout block names, as a set of strings like "deadrelu/lessons/relu_math.py".

    An entry is a line indented by less than 10 spaces whose first word is a name ("monitor.py",
    "lessons/"); two spaces of indentation per folder level. Longer indentation continues the
    description of the entry above; a line starting with "--" is a heading.
    """
    block = re.search(r"## Repository layout\n+```\n(.*?)```", readme_text, re.S)
    assert block, "README.md has no ```-fenced block under '## Repository layout'"
    paths, folders = set(), []
    for line in block.group(1).splitlines():
        indent = len(line) - len(line.lstrip(" "))
        words = line.split()
        if not words or indent >= 10 or words[0].startswith("--"):
            continue
        level = indent // 2
        folders = folders[:level]
        name = words[0].rstrip(",")
        path = "/".join(folders + [name.rstrip("/")])
        paths.add(path)
        if name.endswith("/"):
            folders.append(name.rstrip("/"))
    return paths


def modules_on_disk():
    found = set()
    for package in MAPPED_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.name != "__init__.py":
                found.add(path.relative_to(ROOT).as_posix())
    return found


def test_readme_map_lists_every_module():
    mapped = readme_map((ROOT / "README.md").read_text())
    checks = {p for p in modules_on_disk() if p.startswith("deadrelu/checks/") and p != "deadrelu/checks/_common.py"}
    missing = sorted(modules_on_disk() - checks - mapped)
    assert not missing, f"add these modules to the README's 'Repository layout' (what each holds): {missing}"
    assert "deadrelu/checks" in mapped and "deadrelu/checks/_common.py" in mapped


def test_readme_map_names_nothing_that_is_gone():
    mapped = readme_map((ROOT / "README.md").read_text())
    gone = sorted(p for p in mapped if p.split("/")[0] in MAPPED_PACKAGES and not (ROOT / p).exists())
    assert not gone, f"the README's 'Repository layout' names files that do not exist: {gone}"


def test_every_lesson_module_has_its_checks_module_and_its_notebook():
    """lessons/<name>.py, checks/<name>.py and solutions/NN_<name>/ go together (one name per notebook)."""
    lessons = {p.stem for p in (ROOT / "deadrelu/lessons").glob("*.py") if p.name != "__init__.py"}
    checks = {p.stem for p in (ROOT / "deadrelu/checks").glob("*.py") if not p.name.startswith("_")}
    notebooks = {p.name.split("_", 1)[1] for p in (ROOT / "solutions").iterdir() if re.match(r"\d\d_", p.name)}
    assert lessons == checks == notebooks, (lessons ^ notebooks, checks ^ notebooks)


def test_the_map_parser_sees_nesting_and_ignores_descriptions():
    text = (
        "## Repository layout\n\n```\npkg/          the package\n  a.py         first\n"
        "               continued description: not_a_module.py\n  -- a heading --\n  sub/         folder\n"
        "    b.py       inside\n  c.py         back at level one\n```\n"
    )
    assert readme_map(text) == {"pkg", "pkg/a.py", "pkg/sub", "pkg/sub/b.py", "pkg/c.py"}
