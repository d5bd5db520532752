"""Shared fixtures: a fresh default graph for every test, the paths of the
checkout, the build and the MNIST digits, and a runner for the example
programs.

Run by ctest's test_python (tests/python_test.sh), which sets GRADFLOW_LIB
(the library under test), GF_BUILD_DIR and GF_SOURCE_DIR. By hand, from the
checkout: GRADFLOW_LIB=build/libgradflow.so PYTHONPATH=python
/usr/bin/python3 -m pytest python/tests
"""
import os
import subprocess
import sys

import pytest

import gradflow.compat.v1 as tf

SOURCE_DIR = os.environ.get("GF_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DIR = os.environ.get("GF_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
MNIST_DIR = os.path.join(SOURCE_DIR, "data", "mnist")


@pytest.fixture(autouse=True)
def fresh_graph():
    """Every test builds in a new default graph."""
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()


@pytest.fixture
def mnist_dir():
    """data/mnist, which make check fills (scripts/get-mnist)."""
    if not os.path.isfile(os.path.join(MNIST_DIR, "train-images-idx3-ubyte.gz")) and \
            not os.path.isfile(os.path.join(MNIST_DIR, "train-images-idx3-ubyte")):
        pytest.fail(f"no MNIST in {MNIST_DIR}: run scripts/get-mnist {MNIST_DIR} "
                    "(make check does it)")
    return MNIST_DIR


def python_env(**extra):
    """The environment for a child Python using the package under test."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(SOURCE_DIR, "python")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if "GRADFLOW_LIB" in env:   # the library under test, wherever the child runs
        env["GRADFLOW_LIB"] = os.path.abspath(env["GRADFLOW_LIB"])
    env.update(extra)
    return env


@pytest.fixture
def run_example(tmp_path, mnist_dir):
    """Runs examples/python/NAME with a working folder whose MNIST_data links
    to data/mnist; returns its standard output."""
    (tmp_path / "MNIST_data").symlink_to(mnist_dir)

    def run(name, *args, timeout=600):
        path = os.path.join(SOURCE_DIR, "examples", "python", name)
        done = subprocess.run([sys.executable, path, *args], cwd=tmp_path, env=python_env(),
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout
    return run
