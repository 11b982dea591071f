// SHA-256 through libcrypto behind dlopen: optional at build and run time (no header or link
// dependency); GeoCAM's own Swift SHA-256 is the fallback and the reference in the tests.
#include "CDigest.h"

#include <dlfcn.h>
#include <pthread.h>

typedef int (*digest_fn)(const void *, size_t, unsigned char *, unsigned int *, const void *, void *);
typedef const void *(*md_fn)(void);

static digest_fn p_digest;
static md_fn p_sha256;
static pthread_once_t loaded = PTHREAD_ONCE_INIT;

static void load(void) {
  void *lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return;
  digest_fn d = (digest_fn)dlsym(lib, "EVP_Digest");
  md_fn m = (md_fn)dlsym(lib, "EVP_sha256");
  if (d && m) {
    p_digest = d;
    p_sha256 = m;
  }
}

int geocam_sha256(const void *data, size_t count, unsigned char *out) {
  pthread_once(&loaded, load);
  if (!p_digest || !p_sha256 || !data) return -1;
  const void *md = p_sha256();
  if (!md) return -1;
  unsigned int length = 0;
  if (p_digest(data, count, out, &length, md, NULL) != 1 || length != 32) return -1;
  return 0;
}
