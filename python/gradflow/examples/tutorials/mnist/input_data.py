"""TensorFlow 1's tensorflow.examples.tutorials.mnist.input_data, on
gradflow's IDX reader (gradflow.datasets): read_data_sets(dir, one_hot=True)."""
from gradflow.datasets import DataSet, Datasets, read_data_sets

__all__ = ["DataSet", "Datasets", "read_data_sets"]
