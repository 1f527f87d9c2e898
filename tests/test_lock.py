"""The lock file pins a version inside every range that the requirements files (requirements.txt,
-scale, -onnx and -inference) allow on its platform (Linux x86-64, Python 3.11), and the image and
CI install through it."""
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK_PLATFORM = {"sys_platform": "linux", "platform_machine": "x86_64", "python_version": "3.11",
                 "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython"}


def requirements(path: Path) -> list[Requirement]:
    out = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            out += requirements(path.parent / line[3:].strip())
        elif line:
            out.append(Requirement(line))
    return out


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


@pytest.mark.parametrize("name", ["requirements-scale.txt", "requirements-onnx.txt", "requirements-inference.txt"])
def test_the_lock_satisfies_every_range_on_its_platform(name):
    pins = locked()
    for requirement in requirements(ROOT / name):
        if requirement.marker and not requirement.marker.evaluate(LOCK_PLATFORM):
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not locked"
        assert requirement.specifier.contains(pins[name], prereleases=True), (requirement, pins[name])


def test_the_image_and_ci_install_through_the_lock():
    assert "-c requirements.lock" in (ROOT / "Dockerfile").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "-r requirements-scale.txt -r requirements-onnx.txt -c requirements.lock" in ci
    assert "-r requirements-inference.txt -c requirements.lock" in ci
