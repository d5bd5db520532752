/* errors_png.c — `gradflow eval --errors`: a PNG grid of misclassified test
 * digits, each with its true and predicted label in a tiny built-in font. */
#include "errors_png.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"

#ifdef GF_HAVE_PNG
#include <png.h>

/* A 5x7 pixel font: each glyph is 7 rows of 5 cells, '#' for ink. */
static const struct glyph {
    char c;
    const char *rows[7];
} font[] = {
    { '0', { ".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###." } },
    { '1', { "..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###." } },
    { '2', { ".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####" } },
    { '3', { "#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###." } },
    { '4', { "...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#." } },
    { '5', { "#####", "#....", "####.", "....#", "....#", "#...#", ".###." } },
    { '6', { "..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###." } },
    { '7', { "#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..." } },
    { '8', { ".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###." } },
    { '9', { ".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.." } },
    { 'A', { ".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#" } },
    { 'B', { "####.", "#...#", "#...#", "####.", "#...#", "#...#", "####." } },
    { 'C', { ".###.", "#...#", "#....", "#....", "#....", "#...#", ".###." } },
    { 'D', { "###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.." } },
    { 'E', { "#####", "#....", "#....", "####.", "#....", "#....", "#####" } },
    { 'F', { "#####", "#....", "#....", "####.", "#....", "#....", "#...." } },
    { 'G', { ".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####" } },
    { 'H', { "#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#" } },
    { 'I', { ".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###." } },
    { 'J', { "..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.." } },
    { 'K', { "#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#" } },
    { 'L', { "#....", "#....", "#....", "#....", "#....", "#....", "#####" } },
    { 'M', { "#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#" } },
    { 'N', { "#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#" } },
    { 'O', { ".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###." } },
    { 'P', { "####.", "#...#", "#...#", "####.", "#....", "#....", "#...." } },
    { 'Q', { ".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#" } },
    { 'R', { "####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#" } },
    { 'S', { ".####", "#....", "#....", ".###.", "....#", "....#", "####." } },
    { 'T', { "#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.." } },
    { 'U', { "#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###." } },
    { 'V', { "#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.." } },
    { 'W', { "#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#." } },
    { 'X', { "#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#" } },
    { 'Y', { "#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.." } },
    { 'Z', { "#####", "....#", "...#.", "..#..", ".#...", "#....", "#####" } },
    { ':', { ".....", ".##..", ".##..", ".....", ".##..", ".##..", "....." } },
    { '.', { ".....", ".....", ".....", ".....", ".....", ".##..", ".##.." } },
    { ',', { ".....", ".....", ".....", ".....", ".##..", "..#..", ".#..." } },
    { '-', { ".....", ".....", ".....", "#####", ".....", ".....", "....." } },
    { '=', { ".....", ".....", "#####", ".....", "#####", ".....", "....." } },
    { '(', { "...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#." } },
    { ')', { ".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..." } },
    { '/', { ".....", "....#", "...#.", "..#..", ".#...", "#....", "....." } },
};

typedef struct canvas {
    int w, h;
    uint8_t *rgb; /* w*h*3 */
} canvas;

static void put(canvas *cv, int x, int y, const uint8_t c[3])
{
    if (x < 0 || y < 0 || x >= cv->w || y >= cv->h) return;
    memcpy(cv->rgb + 3 * ((size_t)y * (size_t)cv->w + (size_t)x), c, 3);
}

/* Draws s with its top-left corner at (x, y), each font cell scale x scale
 * pixels, glyphs 6 cells apart; returns the x after the text. Characters
 * without a glyph (space, lower case) leave a gap. */
static int text(canvas *cv, int x, int y, int scale, const char *s, const uint8_t c[3])
{
    for (; *s; s++, x += 6 * scale) {
        const struct glyph *gl = NULL;
        for (size_t k = 0; k < sizeof font / sizeof font[0]; k++)
            if (font[k].c == *s) gl = &font[k];
        if (!gl) continue;
        for (int r = 0; r < 7; r++)
            for (int col = 0; col < 5; col++)
                if (gl->rows[r][col] == '#')
                    for (int dy = 0; dy < scale; dy++)
                        for (int dx = 0; dx < scale; dx++) put(cv, x + col * scale + dx, y + r * scale + dy, c);
    }
    return x;
}

static const uint8_t INK[3] = { 0x22, 0x22, 0x22 }, GREEN[3] = { 0x00, 0x80, 0x20 },
                     RED[3] = { 0xd0, 0x10, 0x10 }, FRAME[3] = { 0xc8, 0xc8, 0xc8 };

static void draw(canvas *cv, const float *const *images, const uint8_t *truth, const uint8_t *guess, int n,
                 int64_t n_errors, int64_t n_total)
{
    memset(cv->rgb, 0xff, (size_t)cv->w * (size_t)cv->h * 3);
    char line[128];
    int x0 = GF_ERRORS_MARGIN;
    snprintf(line, sizeof line, "MISCLASSIFIED: %lld OF %lld TEST DIGITS", (long long)n_errors, (long long)n_total);
    text(cv, x0, 8, 2, line, INK);
    if (n < n_errors) snprintf(line, sizeof line, "FIRST %d SHOWN.  ", n);
    else snprintf(line, sizeof line, "%s", n ? "ALL SHOWN.  " : "");
    int x = text(cv, x0, 28, 2, line, INK);
    x = text(cv, x, 28, 2, "T: TRUE  ", GREEN);
    text(cv, x, 28, 2, "P: PREDICTED", RED);

    for (int i = 0; i < n; i++) {
        int cx = GF_ERRORS_MARGIN + (i % GF_ERRORS_COLUMNS) * GF_ERRORS_CELL_W;
        int cy = GF_ERRORS_HEADER + (i / GF_ERRORS_COLUMNS) * GF_ERRORS_CELL_H;
        int dx = cx + GF_ERRORS_DIGIT_X, dy = cy + GF_ERRORS_DIGIT_Y, side = 28 * GF_ERRORS_SCALE;
        for (int k = -1; k <= side; k++) { /* a frame just outside the digit */
            put(cv, dx + k, dy - 1, FRAME);
            put(cv, dx + k, dy + side, FRAME);
            put(cv, dx - 1, dy + k, FRAME);
            put(cv, dx + side, dy + k, FRAME);
        }
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++) {
                float v = images[i][r * 28 + c];
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                uint8_t g = (uint8_t)(255 - (int)(v * 255.0f + 0.5f));
                const uint8_t px[3] = { g, g, g };
                for (int sy = 0; sy < GF_ERRORS_SCALE; sy++)
                    for (int sx = 0; sx < GF_ERRORS_SCALE; sx++)
                        put(cv, dx + c * GF_ERRORS_SCALE + sx, dy + r * GF_ERRORS_SCALE + sy, px);
            }
        char t[8], p[8];
        snprintf(t, sizeof t, "T%d ", truth[i] % 10);
        snprintf(p, sizeof p, "P%d", guess[i] % 10);
        int tx = cx + (GF_ERRORS_CELL_W - (5 * 6 - 1) * 2) / 2, ty = dy + side + 4;
        tx = text(cv, tx, ty, 2, t, GREEN);
        text(cv, tx, ty, 2, p, RED);
    }
}

typedef struct png_failure {
    char message[256];
} png_failure;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_failure *pf = png_get_error_ptr(png);
    snprintf(pf->message, sizeof pf->message, "libpng: %s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* The canvas as an 8-bit RGB PNG on f; on failure, why is in pf (owned by
 * the caller, so that it outlives the longjmp). */
static int encode(FILE *f, const canvas *cv, png_failure *pf)
{
    snprintf(pf->message, sizeof pf->message, "out of memory");
    png_bytep *rows = malloc((size_t)cv->h * sizeof *rows);
    png_structp png = rows ? png_create_write_struct(PNG_LIBPNG_VER_STRING, pf, on_png_error, on_png_warning)
                           : NULL;
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        if (png) png_destroy_write_struct(&png, NULL);
        free(rows);
        return 0;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        return 0;
    }
    for (int y = 0; y < cv->h; y++) rows[y] = cv->rgb + (size_t)y * (size_t)cv->w * 3;
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)cv->w, (png_uint_32)cv->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_text note = { .compression = PNG_TEXT_COMPRESSION_NONE, .key = "Software",
                      .text = "gradflow eval --errors" };
    png_set_text(png, info, &note, 1);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return 1;
}

int gf_errors_png_available(void) { return 1; }

int gf_errors_png_write(const char *path, const float *const *images, const uint8_t *truth,
                        const uint8_t *guess, int n, int64_t n_errors, int64_t n_total, char *err,
                        size_t err_len)
{
    canvas cv = { GF_ERRORS_PNG_WIDTH, GF_ERRORS_PNG_HEIGHT(n), NULL };
    cv.rgb = malloc((size_t)cv.w * (size_t)cv.h * 3);
    if (!cv.rgb) {
        snprintf(err, err_len, "%s: out of memory for a %dx%d picture", path, cv.w, cv.h);
        return 0;
    }
    draw(&cv, images, truth, guess, n, n_errors, n_total);
    gf_atomic_file af;
    png_failure pf;
    int ok = gf_atomic_open(&af, path, err, err_len);
    if (ok && !encode(af.f, &cv, &pf)) {
        snprintf(err, err_len, "%s: %s", path, pf.message);
        gf_atomic_abort(&af);
        ok = 0;
    } else if (ok) {
        ok = gf_atomic_commit(&af, err, err_len);
    }
    free(cv.rgb);
    return ok;
}

#else /* no libpng */

int gf_errors_png_available(void) { return 0; }

int gf_errors_png_write(const char *path, const float *const *images, const uint8_t *truth,
                        const uint8_t *guess, int n, int64_t n_errors, int64_t n_total, char *err,
                        size_t err_len)
{
    (void)images, (void)truth, (void)guess, (void)n, (void)n_errors, (void)n_total;
    snprintf(err, err_len, "%s: gradflow was built without libpng, so it cannot write PNG files: install "
                           "libpng-dev (Debian; scripts/install-deps does it) and rebuild",
             path);
    return 0;
}

#endif
