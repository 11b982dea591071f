#ifndef GEOCAM_CDNNL_H
#define GEOCAM_CDNNL_H
#include <stddef.h>
/// oneDNN (libdnnl.so.2, the 2.x C API) opened at run time with dlopen, so GeoCAM builds and runs
/// without it and falls back to its own kernels. Tensors cross this boundary in GeoCAM's layout,
/// [C][N][H][W]; activations are reordered into oneDNN's blocked layout around each convolution.

/// 1 when libdnnl.so.2 (and the libgomp it uses) loaded and an engine was created; 0 otherwise.
/// The first call does the loading; later calls are cheap. Thread-safe.
int geocam_dnnl_available(void);
/// The library's version as "major.minor.patch (cpu runtime)", or "" when unavailable.
const char *geocam_dnnl_version(void);

/// One convolution's oneDNN state: primitives for each (batch, height, width) seen, with the
/// weights reordered once per primitive. Opaque.
typedef struct geocam_dnnl_conv geocam_dnnl_conv;

/// How a convolution runs on oneDNN.
typedef enum geocam_dnnl_mode {
  /// Direct kernels on the blocked layout oneDNN chooses (activations reordered around the call).
  geocam_dnnl_blocked = 0,
  /// GeoCAM's layout as is, no reorders: oneDNN's GEMM-based kernels (pointwise convolutions).
  geocam_dnnl_plain = 1,
  /// Winograd F(4×4, 3×3) on the blocked layout, or direct where oneDNN has no Winograd kernel.
  geocam_dnnl_winograd = 2,
} geocam_dnnl_mode;

/// Describes a convolution with PyTorch-layout weights [Cout][Cin/groups][kh][kw] and an optional
/// bias; both pointers must stay valid for the handle's life. NULL when oneDNN is unavailable.
geocam_dnnl_conv *geocam_dnnl_conv_create(
    int in_channels, int out_channels, int groups, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw,
    const float *weight, const float *bias, geocam_dnnl_mode mode);
void geocam_dnnl_conv_destroy(geocam_dnnl_conv *conv);

/// Prepares (or finds) the forward (backward = 0) or input-gradient (backward = 1) primitive for
/// `batch` samples of `height × width` input and returns the scratch floats it needs for the
/// blocked source (the result), the blocked destination (`scratch_out`) and oneDNN's own
/// scratchpad (`scratchpad`), 0 where none is needed; -1 when oneDNN cannot run it.
long geocam_dnnl_conv_prepare(geocam_dnnl_conv *conv, int backward, int batch, int height, int width,
                              long *scratch_out, long *scratchpad);

/// Forward: x [Cin][N][H][W] → y [Cout][N][OH][OW]. Input gradient: dy [Cout][N][OH][OW] →
/// dx [Cin][N][H][W] (`x`/`y` are then dy/dx). Scratch buffers as `prepare` sized them, owned by
/// the calling thread (so two threads may run the same convolution at once). Runs on `threads`
/// OpenMP threads. Returns 0 on success.
int geocam_dnnl_conv_run(geocam_dnnl_conv *conv, int backward, int batch, int height, int width,
                         const float *x, float *y, float *scratch_in, float *scratch_out, float *scratchpad,
                         int threads);
#endif
