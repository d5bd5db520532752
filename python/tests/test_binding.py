"""The binding against include/gradflow.h (prototypes, structures, the
library's version), and how the package finds libgradflow.so: through
GRADFLOW_LIB, in a built checkout with PYTHONPATH=python, installed by pip,
installed by make install."""
import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import BUILD_DIR, SOURCE_DIR, python_env
from gradflow import _lib

HEADER = os.path.join(SOURCE_DIR, "include", "gradflow.h")
IMPORT = "import gradflow.compat.v1 as tf, gradflow._lib as l; print(l.path); " \
         "print(tf.Session().run(tf.constant(2.0) * 3))"


def header_text():
    with open(HEADER) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def test_prototypes_match_the_header():
    decls = {m.group(2): (m.group(1).strip(), m.group(3).strip()) for m in re.finditer(
        r"([A-Za-z_][\w \t*]*?[\s*])(gf_\w+)\s*\(([^()]*)\)\s*;", header_text())}
    for name, (restype, argtypes) in _lib.PROTOTYPES.items():
        assert name in decls, f"{name} is not declared in gradflow.h"
        ret, params = decls[name]
        n = 0 if params in ("", "void") else params.count(",") + 1
        assert n == len(argtypes), f"{name}: {n} parameters in the header, {len(argtypes)} here"
        assert (ret == "void") == (restype is None), f"{name} returns {ret}"


STRUCTS = {"gf_shape": _lib.Shape, "gf_error": _lib.Error,
           "gf_session_options": _lib.SessionOptions, "gf_mnist": _lib.Mnist,
           "gf_mnist_options": _lib.MnistOptions}
C_TYPES = {"int": ctypes.c_int, "unsigned": ctypes.c_uint, "uint64_t": ctypes.c_uint64,
           "int64_t": ctypes.c_int64, "char": ctypes.c_char, "gf_status": ctypes.c_int}


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_structures_match_the_header(name):
    body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (name, name), header_text(), re.S)
    assert body, f"no typedef struct {name} in gradflow.h"
    fields = []
    for decl in body.group(1).split(";"):
        decl = decl.strip()
        if not decl:
            continue
        ctype, _, names = decl.rpartition(" ")
        for one in names.split(","):
            one = one.strip()
            pointer = ctype.endswith("*") or one.startswith("*")
            one = one.lstrip("*")
            size = re.search(r"\[(\w+)\]", one)
            fields.append((one.split("[")[0], "pointer" if pointer else ctype.split()[-1],
                           size.group(1) if size else None))
    mine = STRUCTS[name]._fields_
    assert [f[0] for f in fields] == [f[0] for f in mine]
    for (field, ctype, count), (_, mtype) in zip(fields, mine):
        if ctype == "pointer":
            assert ctypes.sizeof(mtype) == ctypes.sizeof(ctypes.c_void_p), field
        elif count:
            assert issubclass(mtype, ctypes.Array) and mtype._type_ is C_TYPES[ctype], field
        else:
            assert mtype is C_TYPES[ctype], f"{name}.{field}: {ctype}"


def test_soname_follows_the_header_version():
    major = re.search(r"#define GF_VERSION_MAJOR (\d+)", open(HEADER).read()).group(1)
    assert _lib.SONAME == f"libgradflow.so.{major}"


def child(args, env, cwd=None):
    return subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_no_library_is_a_clear_import_error(tmp_path):
    done = child(["-c", "import gradflow.compat.v1"],
                 python_env(GRADFLOW_LIB=str(tmp_path / "missing.so")))
    assert done.returncode != 0
    assert "ImportError: gradflow: cannot load libgradflow.so" in done.stderr
    assert "missing.so (GRADFLOW_LIB): no such file" in done.stderr
    assert "set GRADFLOW_LIB" in done.stderr


def fake_checkout(tmp_path):
    """A copy of python/ beside include/gradflow.h and build/libgradflow.so
    (the library under test), as in a built checkout."""
    root = tmp_path / "checkout"
    shutil.copytree(os.path.join(SOURCE_DIR, "python", "gradflow"), root / "python" / "gradflow",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "include").mkdir()
    shutil.copy(HEADER, root / "include")
    (root / "build").mkdir()
    os.symlink(os.path.abspath(_lib.path), root / "build" / "libgradflow.so")
    return root


def without_library_hints():
    env = python_env()
    for key in ("GRADFLOW_LIB", "LD_LIBRARY_PATH"):
        env.pop(key, None)
    return env


def test_a_built_checkout_imports_with_pythonpath(tmp_path):
    root = fake_checkout(tmp_path)
    env = without_library_hints()
    env["PYTHONPATH"] = str(root / "python")
    done = child(["-c", IMPORT], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    assert lines[0] == str(root / "build" / "libgradflow.so") and lines[1] == "6.0"


def test_pip_installs_the_package(tmp_path):
    for module, package in (("venv", "python3-venv"), ("ensurepip", "python3-venv"),
                            ("pip", "python3-pip"), ("setuptools", "python3-setuptools")):
        if importlib.util.find_spec(module) is None:
            pytest.fail(f"this test needs Python's {module}: apt-get install {package} "
                        "(scripts/install-deps does it when root)")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, capture_output=True, timeout=300)
    source = tmp_path / "src"
    shutil.copytree(os.path.join(SOURCE_DIR, "python"), source,
                    ignore=shutil.ignore_patterns("__pycache__", "tests"))
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index",
                           "--no-build-isolation", "--no-deps", "--quiet", str(source)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    env = without_library_hints()
    env.pop("PYTHONPATH")
    # installed: found through the loader's search (here LD_LIBRARY_PATH)
    env["LD_LIBRARY_PATH"] = str(tmp_path / "lib")
    (tmp_path / "lib").mkdir()
    os.symlink(os.path.abspath(_lib.path), tmp_path / "lib" / _lib.SONAME)
    done = subprocess.run([str(venv / "bin" / "python"), "-c", IMPORT], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [_lib.SONAME, "6.0"]
    assert str(venv) in subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import gradflow; print(gradflow.__file__)"],
        env=env, cwd=tmp_path, capture_output=True, text=True).stdout


def test_make_install_installs_the_package(tmp_path):
    cmake = os.environ.get("CMAKE", "cmake")
    prefix = tmp_path / "prefix"
    done = subprocess.run([cmake, "--install", BUILD_DIR, "--prefix", str(prefix)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    found = list(prefix.glob("lib/python3*/dist-packages/gradflow/compat/v1/__init__.py"))
    assert len(found) == 1, f"no gradflow package under {prefix}/lib/python3*/dist-packages"
    site = found[0].parents[3]
    assert site.parent.name == "python%d.%d" % sys.version_info[:2]
    env = without_library_hints()
    env["PYTHONPATH"] = str(site)
    done = child(["-c", IMPORT], env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lib = done.stdout.split()[0]
    assert lib.startswith(str(prefix)) and lib.endswith(_lib.SONAME), lib


LEAK_PROGRAM = r'''
import ctypes, gc, os, sys
import numpy as np
libc = ctypes.CDLL(None)
libc.malloc.restype = libc.realloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
live = {}
MALLOC = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
REALLOC = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
FREE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)

@MALLOC
def counted_malloc(ctx, n):
    p = libc.malloc(n)
    live[p] = n
    return p

@REALLOC
def counted_realloc(ctx, old, n):
    p = libc.realloc(old, n)
    live.pop(old, None)
    live[p] = n
    return p

@FREE
def counted_free(ctx, p):
    live.pop(p)
    libc.free(p)

class Allocator(ctypes.Structure):
    _fields_ = [("malloc", MALLOC), ("realloc", REALLOC), ("free", FREE), ("ctx", ctypes.c_void_p)]

from gradflow._lib import lib
lib.gf_set_allocator.argtypes = [ctypes.POINTER(Allocator)]
allocator = Allocator(counted_malloc, counted_realloc, counted_free, None)
lib.gf_set_allocator(ctypes.byref(allocator))

import gradflow.compat.v1 as tf
from gradflow.examples.tutorials.mnist import input_data

def program(folder):
    mnist = input_data.read_data_sets(sys.argv[1], one_hot=True)
    x = tf.placeholder(tf.float32, [None, 784])
    y = tf.placeholder(tf.float32, [None, 10])
    w = tf.Variable(tf.truncated_normal([784, 10]))
    logits = tf.matmul(x, w)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))
    step = tf.train.AdamOptimizer(0.01).minimize(loss)
    manual = [tf.assign(w, w - 0.1 * tf.gradients(loss, [w])[0])]
    try:
        tf.matmul(w, w)
    except ValueError:
        pass
    sess = tf.InteractiveSession()
    for i in range(300):   # more fed arrays than the headers kept
        xs, ys = mnist.train.next_batch(10)
        sess.run(step, feed_dict={x: xs, y: ys})
        values = sess.run([loss, manual], {x: xs, y: ys})
    try:
        sess.run(loss, {x: np.zeros((2, 3))})
    except tf.errors.InvalidArgumentError:
        pass
    saver = tf.train.Saver()
    saver.restore(sess, saver.save(sess, os.path.join(folder, "m")))
    images = mnist.test.images
    sess.close()
    with tf.Session() as other:
        other.run(loss, {x: images[:5], y: mnist.test.labels[:5]})
    return values

program(sys.argv[2])
import gradflow.framework
gradflow.framework._global_graph = None    # the default graph, with everything in it
gc.collect()
print("live", len(live), sum(live.values()))
'''


def test_the_binding_frees_what_the_library_allocates(tmp_path, mnist_dir):
    """With a counting allocator set before anything is made: once a program's
    graphs, sessions, tensors and datasets are garbage, nothing is left."""
    done = child(["-c", LEAK_PROGRAM, mnist_dir, str(tmp_path)], python_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-3:] == ["live", "0", "0"], done.stdout
