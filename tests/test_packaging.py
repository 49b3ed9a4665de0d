"""What a release needs: pip installs dgnb from its git URL with complete metadata and its data files,
and every Binder and install link names the same repository and opens the quick start."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import PathDistribution
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
REPOSITORY = PROJECT["urls"]["Repository"]


def test_links_name_the_repository_and_open_the_quick_start():
    owner_repo = REPOSITORY.removeprefix("https://github.com/")
    binder = PROJECT["urls"]["Binder"]
    assert binder == f"https://mybinder.org/v2/gh/{owner_repo}/HEAD?urlpath=lab/tree/notebooks/01-quick-start.ipynb"
    assert (ROOT / "notebooks" / "01-quick-start.ipynb").is_file()
    readme = (ROOT / "README.md").read_text()
    assert f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder})" in readme.split("## Set up")[0]
    started = (ROOT / "docs" / "getting-started.md").read_text()
    assert f"]({binder})" in started
    assert f'pip install "dgnb[local] @ git+{REPOSITORY}"' in started and f"git clone {REPOSITORY}" in started
    links = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", readme + started))
    assert links <= {REPOSITORY}, links


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_pip_installs_from_the_git_url_with_metadata_and_data_files(tmp_path):
    repo = tmp_path / "repo"  # a git repository of this working tree (tracked and new files), as pushed
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file() and not src.is_symlink():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-C", str(repo)]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "release"]):
        subprocess.run(git + step, check=True)
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check",
                           "--target", str(target), f"git+file://{repo}"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    dist = PathDistribution(next(target.glob("dgnb-*.dist-info")))
    meta = dist.metadata
    assert meta["Name"] == "dgnb" and meta["Version"] == PROJECT["version"] and meta["Summary"]
    assert meta["License-Expression"] == "MIT" and "Framework :: Jupyter" in meta.get_all("Classifier")
    assert f"Repository, {REPOSITORY}" in meta.get_all("Project-URL")
    assert any('extra == "local"' in r for r in meta.get_all("Requires-Dist"))
    description = meta["Description"] or meta.get_payload()
    assert meta["Description-Content-Type"] == "text/markdown" and description.startswith("# dgnb")  # the README
    installed = {str(f) for f in dist.files}
    for data in ("dgnb/local/models/campplus.onnx", "dgnb/notebook/widgets/player.js",
                 "dgnb/notebook/widgets/recorder.js"):
        assert data in installed and (target / data).stat().st_size > 0, data
    assert (target / "bin" / "dgnb").is_file()  # the console script
