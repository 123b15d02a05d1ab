"""The package runs where only Python and PyNaCl are: a commissioner's laptop, a verifier's."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {"nacl", "urncrypto"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_package_and_its_tools_import_only_the_standard_library_and_pynacl():
    tools = [ROOT / "scripts" / "commissioner.py", ROOT / "scripts" / "verify_round.py"]
    files = [*sorted((ROOT / "urncrypto").glob("*.py")), *tools]
    for path in files:
        outside = {
            name
            for name in _imports(path)
            if name not in ALLOWED and name not in sys.stdlib_module_names
        }
        assert not outside, f"{path.name} imports {outside}"


def test_importing_everything_loads_no_django():
    code = (
        "import sys, urncrypto, urncrypto.dkg, urncrypto.verify; "
        "assert not [m for m in sys.modules if m.split('.')[0] in "
        "('django', 'config', 'voting')], sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env={"PATH": ""})
