"""tools/orrery-env against a real Orrery: a spec and a local library directory on disk, submitted as a user would."""
import os
import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "orrery-env"


def run(orrery, token, *args):
    env = dict(os.environ, ORRERY_URL=orrery.url + "/", ORRERY_TOKEN=token)
    return subprocess.run([sys.executable, str(TOOL), *args], env=env, capture_output=True, text=True, timeout=300)


def write_project(root, answer):
    (root / "geotools" / "geotools").mkdir(parents=True)
    (root / "geotools" / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "geotools"\nversion = "1.2.0"\n')
    (root / "geotools" / "geotools" / "__init__.py").write_text(f"def answer():\n    return {answer}\n")
    (root / "environment.yaml").write_text("name: geo-cli\nbase: host\nlibraries: [geotools]\nenvironment:\n  dependencies: [dask]\n")
    return root / "environment.yaml"


def test_submit_follow_show_cache_hit_and_a_bad_spec(orrery, new_user, tmp_path):
    _, token = new_user()
    spec = write_project(tmp_path, 42)

    built = run(orrery, token, "submit", str(spec), "--follow")
    assert built.returncode == 0, built.stdout + built.stderr
    assert "==> step: libraries" in built.stdout
    assert "geo-cli" in built.stdout and "ready" in built.stdout

    shown = run(orrery, token, "show", "geo-cli")
    assert shown.returncode == 0, shown.stderr
    assert "  geotools 1.2.0" in shown.stdout.splitlines()

    again = run(orrery, token, "submit", str(spec))
    assert again.returncode == 0 and "cache hit" in again.stdout, again.stdout + again.stderr

    listed = run(orrery, token, "list")
    assert listed.stdout.count("geo-cli") == 2

    spec.write_text("name: geo-cli\nbase: host\nlibraries: [geotools]\napt: ['bad package']\n")
    refused = run(orrery, token, "submit", str(spec))
    assert refused.returncode == 1
    assert "400: apt[0]:" in refused.stderr


def test_missing_library_directory_is_named_before_anything_is_sent(orrery, new_user, tmp_path):
    _, token = new_user()
    spec = tmp_path / "environment.yaml"
    spec.write_text("name: nolib\nbase: host\nlibraries: [absent]\n")
    result = run(orrery, token, "submit", str(spec))
    assert result.returncode == 1
    assert "absent (in the spec) is not a directory" in result.stderr
