"""Fixtures of the y8m package tests: tiny synthetic data (y8m-synth) and a small NetVLAD archive
trained and exported with the apps of the build (Y8M_BIN, set by ctest's python.pytest)."""
import os
import subprocess

import pytest


def _bin(name):
    folder = os.environ.get("Y8M_BIN")
    if not folder:
        pytest.skip("Y8M_BIN (the apps' build folder) is not set")
    return os.path.join(folder, name)


@pytest.fixture(scope="session")
def run_app():
    def run(name, *args, cwd):
        return subprocess.run([_bin(name), *args], cwd=cwd, check=True, capture_output=True,
                              text=True).stdout
    return run


@pytest.fixture(scope="session")
def work(tmp_path_factory, run_app):
    """A folder with data/{frame,video}/... (450 videos, 50 classes) and run/inference_model.y8m."""
    d = tmp_path_factory.mktemp("y8m")
    run_app("y8m-synth", "--preset=tiny", "--video_level", "--output_dir=data", cwd=d)
    run_app("y8m-train", "--train_data_pattern=data/frame/train*.tfrecord", "--train_dir=run",
            "--model=NetVLADModelLF", "--frame_features", "--feature_names=rgb,audio",
            "--feature_sizes=1024,128", "--num_classes=50", "--netvlad_cluster_size=4",
            "--netvlad_hidden_size=16", "--iterations=5", "--batch_size=32", "--max_steps=4",
            "--num_readers=1", "--device=cpu", cwd=d)
    run_app("y8m-eval", "--train_dir=run", "--build_only", "--device=cpu", cwd=d)
    return d


@pytest.fixture(scope="session")
def archive_path(work):
    return str(work / "run" / "inference_model.y8m")
