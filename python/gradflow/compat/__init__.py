"""TensorFlow's compat namespace: gradflow.compat.v1 speaks TensorFlow 1's API."""
