"""One pinned version list: requirements.txt feeds pip, environment.yml is generated from it,
and the environment that `make` built has exactly those versions, the kernel and nbgrader."""

import importlib.metadata
import json
import os
import runpy
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

from course_tools import BIN, ROOT

writer = runpy.run_path(str(ROOT / "scripts" / "write_environment_yml.py"))
PINS = writer["pinned_requirements"]((ROOT / "requirements.txt").read_text())


def test_environment_yml_is_generated_from_requirements_txt():
    expected = writer["render_environment_yml"]((ROOT / "requirements.txt").read_text())
    assert (ROOT / "environment.yml").read_text() == expected, (
        "run `make environment.yml` after editing requirements.txt"
    )


def test_environment_yml_and_requirements_txt_pin_the_same_versions():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert pip_section == PINS
    assert "python=3.11" in environment["dependencies"]


def test_required_packages_are_pinned():
    names = {Requirement(pin).name.lower() for pin in PINS}
    assert {"torch", "nbgrader", "jupyterlab", "ipywidgets", "matplotlib", "scikit-learn", "tqdm"} <= names
    assert all(str(Requirement(pin).specifier).startswith("==") for pin in PINS)


@pytest.mark.parametrize("pin", PINS)
def test_installed_version_matches_the_pin(pin):
    requirement = Requirement(pin)
    installed = Version(importlib.metadata.version(requirement.name))
    assert installed.public in requirement.specifier, f"{requirement.name} {installed} installed, {pin} pinned"


def test_torch_is_the_cpu_build():
    import torch

    assert torch.version.cuda is None, "the course pins PyTorch's CPU build"


def test_named_kernel_runs_this_environment():
    listed = json.loads(
        subprocess.run(
            [str(BIN / "jupyter"), "kernelspec", "list", "--json"], capture_output=True, text=True, check=True
        ).stdout
    )
    spec = listed["kernelspecs"]["deadrelu"]["spec"]
    assert os.path.realpath(spec["argv"][0]) == os.path.realpath(BIN / "python")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.geturl(), response.read()


@pytest.mark.slow
def test_make_lab_serves_the_course_with_kernel_and_nbgrader():
    # Like a user's `make lab`, the formgrader opens autograder/gradebook.db (creating an empty
    # one if there is none); the test only reads from it.
    port, token = _free_port(), "course-test-token"
    lab_args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --IdentityProvider.token={token}"
    process = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_ARGS={lab_args}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"make lab did not start:\n{process.stdout.read().decode()[-3000:]}")
                time.sleep(0.5)
        final_url, _ = _get(f"{base}/?token={token}")
        assert final_url.split("?")[0].endswith("/lab/tree/course"), final_url
        _, body = _get(f"{base}/api/contents/course?token={token}")
        assert "01_relu_math" in {item["name"] for item in json.loads(body)["content"]}
        _, body = _get(f"{base}/api/kernelspecs?token={token}")
        assert "deadrelu" in json.loads(body)["kernelspecs"]
        _, body = _get(f"{base}/lab/api/extensions?token={token}")
        nbgrader = [e for e in json.loads(body) if e["name"] in ("@jupyter/nbgrader", "jupyter-nbgrader")]
        assert nbgrader and nbgrader[0]["enabled"], "the nbgrader lab extension is not enabled"
        _, body = _get(f"{base}/formgrader/api/assignments?token={token}")
        assert "01_relu_math" in body.decode(), "nbgrader's server extension does not see the course"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
