"""gradflow: a dataflow-graph tensor library in C, in the spirit of
TensorFlow 1.x, with this pure-Python binding over libgradflow.so.

TensorFlow 1 programs run with their imports changed to

    import gradflow.compat.v1 as tf
    from gradflow.examples.tutorials.mnist import input_data

docs/python.md lists what the compat.v1 module offers.
"""
__version__ = "0.1.0"
