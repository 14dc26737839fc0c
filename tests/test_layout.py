"""The package follows the pipeline: a module imports only from its own phase or an earlier one."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vlt_mini"
PHASES = ["profiles", "config", "io", "arguments", "data", "models", "training", "tracking", "evaluation", "search", "experiments",
          "notebook", "handout", "cli"]
ORDER = {"profiles": 0, "config": 0, "io": 0, "arguments": 0, "data": 1, "models": 2, "training": 3, "tracking": 4, "evaluation": 5,
         "search": 6, "experiments": 7, "notebook": 8, "handout": 8, "cli": 8}


def phase_of(module: str) -> str:
    parts = module.split(".")
    assert parts[0] == "vlt_mini", module
    return parts[1] if len(parts) > 1 else "cli"


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vlt_mini") and node.level == 0:
            if node.module != "vlt_mini":
                names.add(node.module)
            else:  # ``from vlt_mini import x``: a module of the package, or a package attribute (``__version__``)
                names.update(f"vlt_mini.{alias.name}" for alias in node.names if not alias.name.startswith("__"))
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("vlt_mini."))
    return names


def test_every_module_belongs_to_a_phase():
    for path in PACKAGE.rglob("*.py"):
        top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        assert top in ORDER or top == "__init__", f"{path}: not in a phase folder ({', '.join(PHASES)})"


def test_imports_follow_the_pipeline():
    violations = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "__init__.py":
            continue
        own = relative.parts[0].removesuffix(".py")
        for module in imported_modules(path):
            if ORDER[phase_of(module)] > ORDER[own]:
                violations.append(f"{relative} ({own}) imports {module} ({phase_of(module)})")
    assert not violations, "imports against the pipeline:\n" + "\n".join(sorted(violations))
