"""The package's layers import downwards only: protocol/ knows no runtime, call/ knows no
service or application, and no helper reaches back to the service."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pipecat_gemini_live"


def imports_of(path: Path) -> set[str]:
    """Modules of the package a file imports (absolute dotted names), TYPE_CHECKING included."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    base = module.split(".")[:-1] if path.name != "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                stem = base[: len(base) - node.level + 1]
                target = ".".join(stem + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("pipecat_gemini_live")}


def files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


FORBIDDEN = {
    "protocol": ("pipecat_gemini_live.call", "pipecat_gemini_live.service", "pipecat_gemini_live.apps", "pipecat_gemini_live.telephony"),
    "call": ("pipecat_gemini_live.service", "pipecat_gemini_live.apps", "pipecat_gemini_live.telephony", "pipecat_gemini_live.vertex"),
    "audio": ("pipecat_gemini_live.call", "pipecat_gemini_live.service", "pipecat_gemini_live.apps", "pipecat_gemini_live.protocol"),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    offences = []
    for path in files(layer):
        for target in imports_of(path):
            if target.startswith(FORBIDDEN[layer]) and not target.startswith("pipecat_gemini_live.service_settings"):
                offences.append(f"{path.relative_to(PACKAGE)} imports {target}")
    assert offences == []


# Applications built on the service (caller memory wraps a service for a call).
APPLICATIONS = ("apps",)


def test_no_module_but_the_package_entry_points_and_applications_imports_the_service():
    allowed = {"__init__.py", "vertex.py", "service.py"}
    offences = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name not in allowed and not any(path.is_relative_to(PACKAGE / app) for app in APPLICATIONS)
        and any(t == "pipecat_gemini_live.service" or t.startswith("pipecat_gemini_live.service.") for t in imports_of(path))
    ]  # fmt: skip
    assert offences == []
