/* errors_png.h — `gradflow eval --errors`: a PNG grid of misclassified test
 * digits, each with its true and predicted label in a tiny built-in font. */
#ifndef GF_ERRORS_PNG_H
#define GF_ERRORS_PNG_H

#include <stddef.h>
#include <stdint.h>

/* The layout, for readers of the picture (tests): an RGB image
 * GF_ERRORS_PNG_WIDTH wide. Below a header of GF_ERRORS_HEADER rows, cells
 * of GF_ERRORS_CELL_W x GF_ERRORS_CELL_H pixels, GF_ERRORS_COLUMNS to a row,
 * left to right in test-set order; a cell holds the 28x28 digit scaled by
 * GF_ERRORS_SCALE (dark ink on white, 255 - the MNIST value) at
 * (GF_ERRORS_DIGIT_X, GF_ERRORS_DIGIT_Y) within it, and under it "T7 P2":
 * the true label in green, the predicted one in red. */
#define GF_ERRORS_COLUMNS 10
#define GF_ERRORS_SCALE 2
#define GF_ERRORS_MARGIN 8
#define GF_ERRORS_CELL_W 68
#define GF_ERRORS_CELL_H 82
#define GF_ERRORS_DIGIT_X 6
#define GF_ERRORS_DIGIT_Y 2
#define GF_ERRORS_HEADER 48
#define GF_ERRORS_PNG_WIDTH (2 * GF_ERRORS_MARGIN + GF_ERRORS_COLUMNS * GF_ERRORS_CELL_W)
#define GF_ERRORS_PNG_HEIGHT(n) \
    (GF_ERRORS_HEADER + (((n) + GF_ERRORS_COLUMNS - 1) / GF_ERRORS_COLUMNS) * GF_ERRORS_CELL_H + GF_ERRORS_MARGIN)

/* 1 when this build can write PNG files (linked with libpng). */
int gf_errors_png_available(void);

/* Writes the grid of n digits to path, atomically: images holds n rows of
 * 784 floats in [0,1] (MNIST scaling), truth and guess their labels;
 * n_errors and n_total (the misclassified and all test images) go in the
 * header. Returns 1, or 0 with the reason in err (also when this build has
 * no libpng). */
int gf_errors_png_write(const char *path, const float *const *images, const uint8_t *truth,
                        const uint8_t *guess, int n, int64_t n_errors, int64_t n_total, char *err,
                        size_t err_len);

#endif
