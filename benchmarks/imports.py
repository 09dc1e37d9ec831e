"""What one import costs, apart from what the module does: a fresh ``python -I -S`` that
imports 16 empty modules of a package, against one that imports 1 (interleaved runs,
medians). The cached ``get`` imports 16 modules of ``helper/``; docs/performance.md says
why that is most of what it costs beyond the interpreter's own start.

    python3 benchmarks/imports.py [--rounds N] [--python PATH]
"""

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODULES = 16


def build(root: Path) -> None:
    """``root/pkg``: an ``__init__`` and MODULES modules, each only a docstring, compiled."""
    package = root / "pkg"
    package.mkdir()
    for name in ("__init__", *(f"m{i}" for i in range(MODULES))):
        (package / f"{name}.py").write_text('"""Only a docstring."""\n')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--python", default=sys.executable)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root)
        subprocess.run([options.python, "-m", "compileall", "-q", str(root)], check=True)
        setup = f"import sys; sys.path.append({str(root)!r}); "
        cases = {
            "1 module": setup + "import pkg.m0",
            f"{MODULES} modules": setup + "import " + ", ".join(f"pkg.m{i}" for i in range(MODULES)),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(options.rounds):
            for name in random.sample(list(cases), len(cases)):
                start = time.perf_counter()
                subprocess.run([options.python, "-I", "-S", "-c", cases[name]], check=True)
                times[name].append(time.perf_counter() - start)
    one, many = (statistics.median(times[name]) for name in cases)
    print(f"python -I -S importing 1 empty module: {one * 1000:.2f} ms; {MODULES}: "
          f"{many * 1000:.2f} ms; {(many - one) / (MODULES - 1) * 1e6:.0f} us a module "
          f"({options.rounds} interleaved rounds, medians)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
