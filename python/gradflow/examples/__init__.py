"""Where TensorFlow 1 kept its tutorials' helpers: examples.tutorials.mnist.input_data."""
