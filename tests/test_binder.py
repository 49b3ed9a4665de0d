"""The Binder files build an environment in which every notebook runs.

Follows what repo2docker does with binder/: the apt.txt packages must be on the machine (CI installs
them), then a fresh virtual environment gets exactly binder/requirements.txt, binder/postBuild runs
from a copy of the repository (it installs dgnb from it), and every notebook executes with nbclient
inside that environment, with no key and no internet (as in test_notebooks).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from test_notebooks import NOTEBOOKS, offline_env

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
REPO_PARTS = ("dgnb", "notebooks", "binder", "pyproject.toml", "README.md")


def test_binder_files_are_what_repo2docker_reads():
    assert (BINDER / "requirements.txt").is_file() and (BINDER / "apt.txt").is_file()
    assert os.access(BINDER / "postBuild", os.X_OK), "postBuild must be executable"
    assert (BINDER / "runtime.txt").read_text().strip().startswith("python-3.")
    requirements = [line.split("#")[0].strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    names = {r.split("=")[0].split(">")[0].split("<")[0].strip().lower() for r in requirements if r}
    assert {"jupyterlab", "ipywidgets", "anywidget", "ipykernel"} <= names
    assert "ffmpeg" in (BINDER / "apt.txt").read_text().split()


def test_binder_pins_every_distribution_it_installs():
    """constraints.txt (binder/lock) pins one version of everything: what requirements.txt names, dgnb's
    dependencies with the local engine's, and the rest it pulled in; both installs read it."""
    from importlib.metadata import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    def lines(name):
        return [line.split("#")[0].strip() for line in (BINDER / name).read_text().splitlines()]

    pins = {}
    for line in filter(None, lines("constraints.txt")):
        name, _, version = line.partition("==")
        assert version and " " not in version, f"not an exact pin: {line!r}"
        pins[canonicalize_name(name)] = version
    assert "-c constraints.txt" in lines("requirements.txt")
    assert "-c binder/constraints.txt" in (BINDER / "postBuild").read_text()
    wanted = [Requirement(line) for line in lines("requirements.txt") if line and not line.startswith("-")]
    wanted += [Requirement(r) for r in metadata("dgnb").get_all("Requires-Dist")
               if "extra ==" not in r or 'extra == "local"' in r]
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is installed on Binder but not pinned"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req.name}=={pins[name]} breaks {req}"


def apt_packages() -> list[str]:
    lines = (BINDER / "apt.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def run(cmd: list[str], *, env: dict, cwd: Path, timeout: float) -> str:
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout + proc.stderr


EXECUTE = textwrap.dedent("""
    import sys
    from pathlib import Path

    import nbformat
    from nbclient import NotebookClient

    notebook, workdir = Path(sys.argv[1]), Path(sys.argv[2])
    workdir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(str(notebook), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    print("ran", notebook.name)
""")


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_binder_environment_runs_every_notebook(tmp_path):
    missing = [p for p in apt_packages() if shutil.which(p) is None
               and subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    assert not missing, f"apt.txt packages not installed on this machine: {missing}"

    repo = tmp_path / "repo"  # a clean copy: postBuild's `pip install .` must not write into the checkout
    repo.mkdir()
    for part in REPO_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, repo / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints"))
        else:
            shutil.copy2(src, repo / part)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update({"PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "VIRTUAL_ENV": str(venv),
                "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"), "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    python = str(bin_dir / "python")
    run([python, "-m", "pip", "install", "-q", "-r", str(repo / "binder" / "requirements.txt")], env=env, cwd=repo,
        timeout=2400)
    out = run(["bash", str(repo / "binder" / "postBuild")], env=env, cwd=repo, timeout=900)
    assert "dgnb 0." in out

    # dgnb came from the repository copy, into the venv, not from the checkout this test runs in
    where = run([python, "-c", "import dgnb, sys; print(dgnb.__file__); print(sys.prefix)"], env=env, cwd=tmp_path,
                timeout=60).split()
    assert where[0].startswith(str(venv)) and where[1] == str(venv)

    script = tmp_path / "execute.py"
    script.write_text(EXECUTE)
    nb_env = {**offline_env(tmp_path), "PATH": env["PATH"], "VIRTUAL_ENV": str(venv),
              "JUPYTER_CONFIG_DIR": env["JUPYTER_CONFIG_DIR"], "JUPYTER_DATA_DIR": env["JUPYTER_DATA_DIR"]}
    nb_env.pop("PYTHONPATH", None)
    for notebook in NOTEBOOKS:
        out = run([python, str(script), str(repo / "notebooks" / notebook.name), str(tmp_path / "work" / notebook.stem)],
                  env=nb_env, cwd=tmp_path, timeout=600)
        assert f"ran {notebook.name}" in out
