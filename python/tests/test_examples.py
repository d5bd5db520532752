"""The article's two programs, run as TensorFlow 1 code with only their
imports changed, and the Deep MNIST tutorial."""
import os
import re
import subprocess

import pytest

from conftest import BUILD_DIR, SOURCE_DIR

TF_IMPORTS = {
    "import tensorflow as tf": "import gradflow.compat.v1 as tf",
    "from tensorflow.examples.tutorials.mnist import input_data":
        "from gradflow.examples.tutorials.mnist import input_data",
}


def article_program():
    """The lines of the article's program as docs/article.md prints it."""
    with open(os.path.join(SOURCE_DIR, "docs", "article.md")) as f:
        text = f.read()
    block = re.search(r"^```python\n(.*?)^```", text, re.S | re.M).group(1)
    return block.splitlines()


def example_lines(name):
    with open(os.path.join(SOURCE_DIR, "examples", "python", name)) as f:
        lines = f.read().splitlines()
    while lines and lines[0].startswith("#"):   # the file's own header comment
        lines.pop(0)
    return lines


def test_manual_example_is_the_article_verbatim_but_for_its_imports():
    article = article_program()
    first = article[:article.index(next(l for l in article if l.startswith("# Automatic")))]
    while first and not first[-1]:
        first.pop()
    assert example_lines("backprop_manual.py") == [TF_IMPORTS.get(l, l) for l in first]


def test_autodiff_example_replaces_the_backward_pass_by_the_articles_two_lines():
    article = [TF_IMPORTS.get(l, l) for l in article_program()]
    lines = example_lines("backprop_autodiff.py")
    cost = "cost = tf.multiply(diff, diff)"
    minimize = "step = tf.train.GradientDescentOptimizer(0.1).minimize(cost)"
    assert cost in article and minimize in article
    assert lines[lines.index(cost) + 1] == minimize
    # every other code line is one of the article's, in the article's order
    code = [l for l in lines if l.strip() and not l.lstrip().startswith("#")]
    at = 0
    for line in code:
        assert line in article[at:], f"not in the article (after line {at}): {line!r}"
        at = article.index(line, at) + 1 if line not in (cost, minimize) else at


def counts(output):
    return [float(line) for line in output.split()]


def c_counts(program):
    """The counts the C example of the same program prints (seed 1)."""
    exe = os.path.join(BUILD_DIR, program)
    if not os.access(exe, os.X_OK):
        pytest.fail(f"no {exe}: build the C examples first (make all)")
    out = subprocess.run([exe, os.path.join(SOURCE_DIR, "data", "mnist"), "1"],
                         capture_output=True, text=True, check=True).stdout
    return [float(m) for m in re.findall(r"^step +\d+ +correct +(\d+)/", out, re.M)]


@pytest.mark.parametrize("name", ["backprop_manual", "backprop_autodiff"])
def test_article_program_learns_and_matches_the_c_example(run_example, name):
    got = counts(run_example(name + ".py"))
    assert len(got) == 10
    assert got[0] < 250, f"the first count follows one step: near chance, got {got}"
    assert got[-1] >= 900, f"the last count should be at least 900 of 1000, got {got}"
    # the same graph, seed and batches as the C program: the same counts
    assert got == c_counts(name)


def test_deep_mnist_trains(run_example):
    out = run_example("deep_mnist.py", "101")
    steps = re.findall(r"^step (\d+), training accuracy ([0-9.e-]+)$", out, re.M)
    assert [int(s) for s, _ in steps] == [0, 100]
    test = float(re.search(r"^test accuracy ([0-9.e-]+)$", out, re.M).group(1))
    assert float(steps[1][1]) > float(steps[0][1])
    assert test > 0.6, out
