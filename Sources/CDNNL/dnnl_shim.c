// oneDNN convolutions behind dlopen: the library is optional at build time (its header is used
// only when present) and at run time (GeoCAM's own kernels run when it cannot be loaded).
#include "CDNNL.h"

#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<dnnl.h>) && defined(__linux__)
#include <dnnl.h>
#if DNNL_VERSION_MAJOR == 2
#define GEOCAM_HAVE_DNNL 1
#endif
#endif
#endif

#ifndef GEOCAM_HAVE_DNNL

int geocam_dnnl_available(void) { return 0; }
const char *geocam_dnnl_version(void) { return ""; }
geocam_dnnl_conv *geocam_dnnl_conv_create(int a, int b, int c, int d, int e, int f, int g, int h, int i, int j, int k,
                                          const float *w, const float *bias, geocam_dnnl_mode mode) {
  (void)mode;
  (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; (void)g; (void)h; (void)i; (void)j; (void)k;
  (void)w; (void)bias;
  return NULL;
}
void geocam_dnnl_conv_destroy(geocam_dnnl_conv *conv) { (void)conv; }
long geocam_dnnl_conv_prepare(geocam_dnnl_conv *conv, int backward, int batch, int height, int width, long *s,
                              long *pad) {
  (void)conv; (void)backward; (void)batch; (void)height; (void)width; (void)s; (void)pad;
  return -1;
}
int geocam_dnnl_conv_run(geocam_dnnl_conv *conv, int backward, int batch, int height, int width, const float *x,
                         float *y, float *si, float *so, float *pad, int threads) {
  (void)conv; (void)backward; (void)batch; (void)height; (void)width; (void)x; (void)y; (void)si; (void)so; (void)pad;
  (void)threads;
  return -1;
}

#else

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

// MARK: - The library, loaded once

// Every entry point is looked up by name so that nothing links against libdnnl.
#define GEOCAM_DNNL_FUNCTIONS(X)                                                                                  \
  X(dnnl_engine_create)                                                                                           \
  X(dnnl_stream_create)                                                                                           \
  X(dnnl_stream_wait)                                                                                             \
  X(dnnl_memory_desc_init_by_strides)                                                                             \
  X(dnnl_memory_desc_init_by_tag)                                                                                 \
  X(dnnl_memory_desc_get_size)                                                                                    \
  X(dnnl_memory_desc_equal)                                                                                       \
  X(dnnl_memory_create)                                                                                           \
  X(dnnl_memory_destroy)                                                                                          \
  X(dnnl_dilated_convolution_forward_desc_init)                                                                   \
  X(dnnl_dilated_convolution_backward_data_desc_init)                                                             \
  X(dnnl_primitive_desc_create)                                                                                   \
  X(dnnl_primitive_desc_destroy)                                                                                  \
  X(dnnl_primitive_desc_query_md)                                                                                 \
  X(dnnl_reorder_primitive_desc_create)                                                                           \
  X(dnnl_primitive_create)                                                                                        \
  X(dnnl_primitive_destroy)                                                                                       \
  X(dnnl_primitive_execute)                                                                                       \
  X(dnnl_primitive_desc_query)                                                                                    \
  X(dnnl_primitive_attr_create)                                                                                   \
  X(dnnl_primitive_attr_destroy)                                                                                  \
  X(dnnl_primitive_attr_set_scratchpad_mode)                                                                      \
  X(dnnl_version)

#define GEOCAM_DECLARE(name) static __typeof__(name) *p_##name;
GEOCAM_DNNL_FUNCTIONS(GEOCAM_DECLARE)
static void (*p_omp_set_num_threads)(int);
static int (*p_omp_get_max_threads)(void);
static void (*p_GOMP_parallel)(void (*)(void *), void *, unsigned, unsigned);

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded;
static dnnl_engine_t engine;
static char version_text[64];

static void load(void) {
  // oneDNN's OpenMP threads would otherwise spin after each convolution and steal the core our
  // own workers need for the next op. A value the user set wins.
  setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  void *lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return;
#define GEOCAM_LOOKUP(name)                                                                                       \
  p_##name = (__typeof__(name) *)dlsym(lib, #name);                                                              \
  if (!p_##name) return;
  GEOCAM_DNNL_FUNCTIONS(GEOCAM_LOOKUP)
  // libgomp is libdnnl's dependency, so the handle finds its symbols too.
  p_omp_set_num_threads = (void (*)(int))dlsym(lib, "omp_set_num_threads");
  p_omp_get_max_threads = (int (*)(void))dlsym(lib, "omp_get_max_threads");
  p_GOMP_parallel = (void (*)(void (*)(void *), void *, unsigned, unsigned))dlsym(lib, "GOMP_parallel");
  if (!p_omp_set_num_threads || !p_omp_get_max_threads) return;
  const dnnl_version_t *v = p_dnnl_version();
  if (!v || v->major != 2) return;
  snprintf(version_text, sizeof version_text, "%d.%d.%d", v->major, v->minor, v->patch);
  if (p_dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) return;
  loaded = 1;
}

int geocam_dnnl_available(void) {
  pthread_once(&load_once, load);
  return loaded;
}

const char *geocam_dnnl_version(void) { return geocam_dnnl_available() ? version_text : ""; }

// MARK: - Threads

static void enable_flush_denormals(void *unused) {
  (void)unused;
#if defined(__x86_64__)
  _mm_setcsr(_mm_getcsr() | 0x8040u);
#endif
}

static __thread int thread_team_size;

/// Gives the calling thread's OpenMP team `threads` members, each with FTZ/DAZ on (denormals
/// cost oneDNN's kernels as much as ours; pool threads are not ours to configure otherwise).
static void set_threads(int threads) {
  if (threads < 1) threads = 1;
  if (thread_team_size == threads) return;
  p_omp_set_num_threads(threads);
  if (p_GOMP_parallel) p_GOMP_parallel(enable_flush_denormals, NULL, (unsigned)threads, 0);
  thread_team_size = threads;
}

// MARK: - Convolutions

/// Primitives for one direction and one input shape.
typedef struct plan {
  int backward, batch, height, width;
  int ok;
  dnnl_primitive_t conv;
  dnnl_primitive_t reorder_in;   // user layout → the primitive's source (NULL: used as is)
  dnnl_primitive_t reorder_out;  // the primitive's destination → user layout (NULL: written in place)
  dnnl_memory_desc_t user_in, user_out, prim_in, prim_out;
  dnnl_memory_t weights;         // reordered once
  int owns_weights;              // 0: borrowed from an earlier plan that chose the same layout
  int wraps_user_weights;        // the caller's weights used in place (the layout chosen is theirs)
  dnnl_memory_desc_t weights_md;
  size_t scratchpad_bytes;       // the largest of the three primitives' scratchpads
  float *weight_storage;
  struct plan *next;
} plan;

struct geocam_dnnl_conv {
  int ic, oc, groups, kh, kw, sh, sw, ph, pw, dh, dw;
  const float *weight, *bias;
  geocam_dnnl_mode mode;
  pthread_mutex_t lock;
  plan *plans;
};

geocam_dnnl_conv *geocam_dnnl_conv_create(int ic, int oc, int groups, int kh, int kw, int sh, int sw, int ph, int pw,
                                          int dh, int dw, const float *weight, const float *bias, geocam_dnnl_mode mode) {
  if (!geocam_dnnl_available() || groups < 1 || !weight) return NULL;
  geocam_dnnl_conv *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  *c = (geocam_dnnl_conv){.ic = ic, .oc = oc, .groups = groups, .kh = kh, .kw = kw, .sh = sh, .sw = sw, .ph = ph,
                          .pw = pw, .dh = dh, .dw = dw, .weight = weight, .bias = bias, .mode = mode};
  pthread_mutex_init(&c->lock, NULL);
  return c;
}

/// Releases a plan's primitives and weights, keeping its key (a failed attempt is retried with
/// another algorithm).
static void plan_clear(plan *p) {
  if (p->conv) p_dnnl_primitive_destroy(p->conv);
  if (p->reorder_in) p_dnnl_primitive_destroy(p->reorder_in);
  if (p->reorder_out) p_dnnl_primitive_destroy(p->reorder_out);
  if (p->weights && p->owns_weights) {
    p_dnnl_memory_destroy(p->weights);
    free(p->weight_storage);
  } else if (p->weights && p->wraps_user_weights) {
    p_dnnl_memory_destroy(p->weights);
  }
  p->conv = p->reorder_in = p->reorder_out = NULL;
  p->owns_weights = 0;
  p->wraps_user_weights = 0;
  p->weights = NULL;
  p->weight_storage = NULL;
  p->ok = 0;
}

static void plan_free(plan *p) {
  plan_clear(p);
  free(p);
}

void geocam_dnnl_conv_destroy(geocam_dnnl_conv *c) {
  if (!c) return;
  plan *p = c->plans;
  while (p) {
    plan *next = p->next;
    plan_free(p);
    p = next;
  }
  pthread_mutex_destroy(&c->lock);
  free(c);
}

/// GeoCAM's [C][N][H][W] as a strided oneDNN descriptor with logical dims (N, C, H, W).
static int user_desc(dnnl_memory_desc_t *md, int n, int ch, int h, int w) {
  dnnl_dims_t dims = {n, ch, h, w};
  // One sample: the batch stride is irrelevant, and the dense value lets oneDNN recognise nchw.
  dnnl_dims_t strides = {n == 1 ? (dnnl_dim_t)ch * h * w : (dnnl_dim_t)h * w, (dnnl_dim_t)n * h * w, w, 1};
  return p_dnnl_memory_desc_init_by_strides(md, 4, dims, dnnl_f32, strides) == dnnl_success;
}

/// Attributes with a caller-provided scratchpad: the library's shared one is not safe when two
/// tiles run convolutions at once on different threads (Debian builds oneDNN without
/// DNNL_ENABLE_CONCURRENT_EXEC).
static dnnl_primitive_attr_t user_scratchpad(void) {
  dnnl_primitive_attr_t attr = NULL;
  if (p_dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
  if (p_dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) != dnnl_success) {
    p_dnnl_primitive_attr_destroy(attr);
    return NULL;
  }
  return attr;
}

static size_t scratchpad_size(const_dnnl_primitive_desc_t pd) {
  const dnnl_memory_desc_t *md = p_dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  return md ? p_dnnl_memory_desc_get_size(md) : 0;
}

/// A reorder primitive; `scratchpad` (when given) grows to the bytes it needs. Without one, a
/// reorder that needs a scratchpad is refused.
static int make_reorder(dnnl_primitive_t *out, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                        size_t *scratchpad) {
  dnnl_primitive_desc_t pd;
  dnnl_primitive_attr_t attr = user_scratchpad();
  if (!attr) return 0;
  dnnl_status_t s = p_dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, attr);
  p_dnnl_primitive_attr_destroy(attr);
  if (s != dnnl_success) return 0;
  size_t need = scratchpad_size(pd);
  if (!scratchpad && need > 0) {
    p_dnnl_primitive_desc_destroy(pd);
    return 0;
  }
  if (scratchpad && need > *scratchpad) *scratchpad = need;
  s = p_dnnl_primitive_create(out, pd);
  p_dnnl_primitive_desc_destroy(pd);
  return s == dnnl_success;
}

static dnnl_stream_t thread_stream(void) {
  static __thread dnnl_stream_t stream;
  if (!stream && p_dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) stream = NULL;
  return stream;
}

/// Copies the user's weights into the layout the primitive chose, or borrows the copy of an
/// earlier plan that chose the same layout (plans per seed count would otherwise each hold
/// one). Called with the convolution's lock held.
static int reorder_weights(plan *p, const geocam_dnnl_conv *c, const dnnl_memory_desc_t *user,
                           const dnnl_memory_desc_t *chosen) {
  p->weights_md = *chosen;
  // The GEMM kernels of pointwise convolutions take PyTorch's layout as it is: no copy (the
  // model's weights would otherwise be held twice, about 85 MB for ResNeXt-50's 1×1s per direction).
  if (p_dnnl_memory_desc_equal(user, chosen)) {
    if (p_dnnl_memory_create(&p->weights, chosen, engine, (void *)c->weight) != dnnl_success) return 0;
    p->wraps_user_weights = 1;
    return 1;
  }
  for (const plan *q = c->plans; q; q = q->next) {
    if (q != p && q->ok && q->owns_weights && p_dnnl_memory_desc_equal(&q->weights_md, chosen)) {
      p->weights = q->weights;
      p->weight_storage = q->weight_storage;
      return 1;
    }
  }
  p->owns_weights = 1;
  size_t bytes = p_dnnl_memory_desc_get_size(chosen);
  if (posix_memalign((void **)&p->weight_storage, 64, bytes ? bytes : 64) != 0) return 0;
  if (p_dnnl_memory_create(&p->weights, chosen, engine, p->weight_storage) != dnnl_success) return 0;
  dnnl_memory_t src;
  if (p_dnnl_memory_create(&src, user, engine, (void *)c->weight) != dnnl_success) return 0;
  dnnl_primitive_t r = NULL;
  // The reorder into Winograd's inference layout transforms the weights and needs a scratchpad;
  // it runs once per plan, so a temporary one does.
  size_t pad_bytes = 0;
  int ok = make_reorder(&r, user, chosen, &pad_bytes);
  void *pad_storage = NULL;
  dnnl_memory_t pad = NULL;
  if (ok && pad_bytes > 0) {
    dnnl_memory_desc_t pad_md;
    dnnl_dims_t pad_dims = {(dnnl_dim_t)pad_bytes};
    ok = posix_memalign(&pad_storage, 64, pad_bytes) == 0 &&
         p_dnnl_memory_desc_init_by_tag(&pad_md, 1, pad_dims, dnnl_u8, dnnl_x) == dnnl_success &&
         p_dnnl_memory_create(&pad, &pad_md, engine, pad_storage) == dnnl_success;
  }
  dnnl_stream_t stream = thread_stream();
  if (ok && stream) {
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, p->weights}, {DNNL_ARG_SCRATCHPAD, pad}};
    ok = p_dnnl_primitive_execute(r, stream, pad ? 3 : 2, args) == dnnl_success &&
         p_dnnl_stream_wait(stream) == dnnl_success;
  } else {
    ok = 0;
  }
  if (r) p_dnnl_primitive_destroy(r);
  if (pad) p_dnnl_memory_destroy(pad);
  free(pad_storage);
  p_dnnl_memory_destroy(src);
  return ok;
}

static int build_plan_with(plan *p, const geocam_dnnl_conv *c, dnnl_alg_kind_t algorithm);

static void build_plan(plan *p, const geocam_dnnl_conv *c) {
  // Winograd where asked and available, else the direct algorithm.
  if (c->mode == geocam_dnnl_winograd && build_plan_with(p, c, dnnl_convolution_winograd)) return;
  build_plan_with(p, c, dnnl_convolution_direct);
}

static int build_plan_with(plan *p, const geocam_dnnl_conv *c, dnnl_alg_kind_t algorithm) {
  plan_clear(p);
  int n = p->batch, h = p->height, w = p->width;
  int oh = (h + 2 * c->ph - c->dh * (c->kh - 1) - 1) / c->sh + 1;
  int ow = (w + 2 * c->pw - c->dw * (c->kw - 1) - 1) / c->sw + 1;
  if (oh < 1 || ow < 1) return 0;
  // PyTorch pads symmetrically and floors; oneDNN wants the right padding that yields that size.
  dnnl_dims_t strides = {c->sh, c->sw}, dilates = {c->dh - 1, c->dw - 1};
  dnnl_dims_t pad_l = {c->ph, c->pw};
  dnnl_dims_t pad_r = {(oh - 1) * c->sh + c->dh * (c->kh - 1) + 1 - h - c->ph,
                       (ow - 1) * c->sw + c->dw * (c->kw - 1) + 1 - w - c->pw};
  dnnl_memory_desc_t src_any, dst_any, wei_any, wei_user, bias_md;
  dnnl_dims_t src_dims = {n, c->ic, h, w}, dst_dims = {n, c->oc, oh, ow}, bias_dims = {c->oc};
  if (c->mode == geocam_dnnl_plain) {
    if (!user_desc(&src_any, n, c->ic, h, w) || !user_desc(&dst_any, n, c->oc, oh, ow)) return 0;
  } else {
    if (p_dnnl_memory_desc_init_by_tag(&src_any, 4, src_dims, dnnl_f32, dnnl_format_tag_any) != dnnl_success) return 0;
    if (p_dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_dims, dnnl_f32, dnnl_format_tag_any) != dnnl_success) return 0;
  }
  if (p_dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x) != dnnl_success) return 0;
  if (c->groups > 1) {
    dnnl_dims_t wd = {c->groups, c->oc / c->groups, c->ic / c->groups, c->kh, c->kw};
    if (p_dnnl_memory_desc_init_by_tag(&wei_any, 5, wd, dnnl_f32, dnnl_format_tag_any) != dnnl_success) return 0;
    if (p_dnnl_memory_desc_init_by_tag(&wei_user, 5, wd, dnnl_f32, dnnl_goihw) != dnnl_success) return 0;
  } else {
    dnnl_dims_t wd = {c->oc, c->ic, c->kh, c->kw};
    if (p_dnnl_memory_desc_init_by_tag(&wei_any, 4, wd, dnnl_f32, dnnl_format_tag_any) != dnnl_success) return 0;
    if (p_dnnl_memory_desc_init_by_tag(&wei_user, 4, wd, dnnl_f32, dnnl_oihw) != dnnl_success) return 0;
  }
  dnnl_convolution_desc_t forward;
  if (p_dnnl_dilated_convolution_forward_desc_init(
          &forward, p->backward ? dnnl_forward_training : dnnl_forward_inference, algorithm, &src_any,
          &wei_any, c->bias && !p->backward ? &bias_md : NULL, &dst_any, strides, dilates, pad_l, pad_r) != dnnl_success)
    return 0;
  dnnl_primitive_desc_t fpd = NULL, pd = NULL;
  dnnl_primitive_attr_t attr = user_scratchpad();
  if (!attr) return 0;
  if (p_dnnl_primitive_desc_create(&fpd, &forward, attr, engine, NULL) != dnnl_success) {
    p_dnnl_primitive_attr_destroy(attr);
    return 0;
  }
  const dnnl_memory_desc_t *in_md, *out_md, *wei_md;
  if (!p->backward) {
    pd = fpd;
    fpd = NULL;
    in_md = p_dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    out_md = p_dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    if (!user_desc(&p->user_in, n, c->ic, h, w) || !user_desc(&p->user_out, n, c->oc, oh, ow)) goto done;
  } else {
    dnnl_convolution_desc_t backward;
    if (p_dnnl_dilated_convolution_backward_data_desc_init(&backward, algorithm, &src_any, &wei_any,
                                                           &dst_any, strides, dilates, pad_l, pad_r) != dnnl_success)
      goto done;
    if (p_dnnl_primitive_desc_create(&pd, &backward, attr, engine, fpd) != dnnl_success) goto done;
    in_md = p_dnnl_primitive_desc_query_md(pd, dnnl_query_diff_dst_md, 0);
    out_md = p_dnnl_primitive_desc_query_md(pd, dnnl_query_diff_src_md, 0);
    if (!user_desc(&p->user_in, n, c->oc, oh, ow) || !user_desc(&p->user_out, n, c->ic, h, w)) goto done;
  }
  // A reference implementation is oneDNN's fallback for layouts it has no kernel for: orders of
  // magnitude slower than GeoCAM's own kernels, so such a shape stays with them.
  const char *impl = NULL;
  if (p_dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl ||
      strncmp(impl, "ref", 3) == 0)
    goto done;
  wei_md = p_dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  if (!in_md || !out_md || !wei_md) goto done;
  p->prim_in = *in_md;
  p->prim_out = *out_md;
  p->scratchpad_bytes = scratchpad_size(pd);
  if (!p_dnnl_memory_desc_equal(&p->prim_in, &p->user_in) &&
      !make_reorder(&p->reorder_in, &p->user_in, &p->prim_in, &p->scratchpad_bytes))
    goto done;
  if (!p_dnnl_memory_desc_equal(&p->prim_out, &p->user_out) &&
      !make_reorder(&p->reorder_out, &p->prim_out, &p->user_out, &p->scratchpad_bytes))
    goto done;
  if (!reorder_weights(p, c, &wei_user, wei_md)) goto done;
  if (p_dnnl_primitive_create(&p->conv, pd) != dnnl_success) goto done;
  p->ok = 1;
done:
  if (fpd) p_dnnl_primitive_desc_destroy(fpd);
  if (pd) p_dnnl_primitive_desc_destroy(pd);
  p_dnnl_primitive_attr_destroy(attr);
  return p->ok;
}

static plan *find_plan(geocam_dnnl_conv *c, int backward, int batch, int height, int width) {
  pthread_mutex_lock(&c->lock);
  plan *p = c->plans;
  while (p && !(p->backward == backward && p->batch == batch && p->height == height && p->width == width))
    p = p->next;
  if (!p && (p = calloc(1, sizeof *p))) {
    p->backward = backward;
    p->batch = batch;
    p->height = height;
    p->width = width;
    build_plan(p, c);
    p->next = c->plans;
    c->plans = p;
  }
  pthread_mutex_unlock(&c->lock);
  return p;
}

static long scratch_floats(int reordered, const dnnl_memory_desc_t *md) {
  return reordered ? (long)((p_dnnl_memory_desc_get_size(md) + 3) / 4) : 0;
}

long geocam_dnnl_conv_prepare(geocam_dnnl_conv *c, int backward, int batch, int height, int width, long *scratch_out,
                              long *scratchpad) {
  if (!c || batch < 1 || height < 1 || width < 1) return -1;
  plan *p = find_plan(c, backward, batch, height, width);
  if (!p || !p->ok) return -1;
  if (scratch_out) *scratch_out = scratch_floats(p->reorder_out != NULL, &p->prim_out);
  if (scratchpad) *scratchpad = (long)((p->scratchpad_bytes + 3) / 4);
  return scratch_floats(p->reorder_in != NULL, &p->prim_in);
}

static int execute(dnnl_primitive_t prim, dnnl_stream_t stream, int count, const dnnl_exec_arg_t *args) {
  return p_dnnl_primitive_execute(prim, stream, count, args) == dnnl_success;
}

int geocam_dnnl_conv_run(geocam_dnnl_conv *c, int backward, int batch, int height, int width, const float *x,
                         float *y, float *scratch_in, float *scratch_out, float *scratchpad, int threads) {
  if (!c) return -1;
  plan *p = find_plan(c, backward, batch, height, width);
  dnnl_stream_t stream = thread_stream();
  if (!p || !p->ok || !stream) return -1;
  if ((p->reorder_in && !scratch_in) || (p->reorder_out && !scratch_out) || (p->scratchpad_bytes && !scratchpad))
    return -1;
  set_threads(threads);
  dnnl_memory_t user_in = NULL, user_out = NULL, prim_in = NULL, prim_out = NULL, bias = NULL, pad = NULL;
  int ok = p_dnnl_memory_create(&user_in, &p->user_in, engine, (void *)x) == dnnl_success &&
           p_dnnl_memory_create(&user_out, &p->user_out, engine, y) == dnnl_success;
  if (ok && p->reorder_in) ok = p_dnnl_memory_create(&prim_in, &p->prim_in, engine, scratch_in) == dnnl_success;
  if (ok && p->reorder_out) ok = p_dnnl_memory_create(&prim_out, &p->prim_out, engine, scratch_out) == dnnl_success;
  if (ok && p->scratchpad_bytes) {
    dnnl_memory_desc_t pad_md;
    dnnl_dims_t pad_dims = {(dnnl_dim_t)p->scratchpad_bytes};
    ok = p_dnnl_memory_desc_init_by_tag(&pad_md, 1, pad_dims, dnnl_u8, dnnl_x) == dnnl_success &&
         p_dnnl_memory_create(&pad, &pad_md, engine, scratchpad) == dnnl_success;
  }
  if (ok && c->bias && !backward) {
    dnnl_memory_desc_t bias_md;
    dnnl_dims_t bias_dims = {c->oc};
    ok = p_dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x) == dnnl_success &&
         p_dnnl_memory_create(&bias, &bias_md, engine, (void *)c->bias) == dnnl_success;
  }
  dnnl_memory_t in = p->reorder_in ? prim_in : user_in;
  dnnl_memory_t out = p->reorder_out ? prim_out : user_out;
  if (ok && p->reorder_in) {
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, user_in}, {DNNL_ARG_TO, prim_in}, {DNNL_ARG_SCRATCHPAD, pad}};
    ok = execute(p->reorder_in, stream, pad ? 3 : 2, args);
  }
  if (ok) {
    if (!backward) {
      dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, in}, {DNNL_ARG_WEIGHTS, p->weights}, {DNNL_ARG_DST, out}};
      int n = 3;
      if (pad) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, pad};
      if (bias) args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, bias};
      ok = execute(p->conv, stream, n, args);
    } else {
      dnnl_exec_arg_t args[4] = {
          {DNNL_ARG_DIFF_DST, in}, {DNNL_ARG_WEIGHTS, p->weights}, {DNNL_ARG_DIFF_SRC, out}, {DNNL_ARG_SCRATCHPAD, pad}};
      ok = execute(p->conv, stream, pad ? 4 : 3, args);
    }
  }
  if (ok && p->reorder_out) {
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, prim_out}, {DNNL_ARG_TO, user_out}, {DNNL_ARG_SCRATCHPAD, pad}};
    ok = execute(p->reorder_out, stream, pad ? 3 : 2, args);
  }
  if (ok) ok = p_dnnl_stream_wait(stream) == dnnl_success;
  if (user_in) p_dnnl_memory_destroy(user_in);
  if (user_out) p_dnnl_memory_destroy(user_out);
  if (prim_in) p_dnnl_memory_destroy(prim_in);
  if (prim_out) p_dnnl_memory_destroy(prim_out);
  if (bias) p_dnnl_memory_destroy(bias);
  if (pad) p_dnnl_memory_destroy(pad);
  return ok ? 0 : -1;
}

#endif
