#ifndef GEOCAM_CDIGEST_H
#define GEOCAM_CDIGEST_H

#include <stddef.h>

/// SHA-256 of `count` bytes into `out` (32 bytes) with the system's libcrypto (OpenSSL 3,
/// opened with dlopen on first use; it uses the CPU's SHA instructions where there are some).
/// Returns 0 on success, -1 when libcrypto is not there or fails: the caller then hashes itself.
int geocam_sha256(const void *data, size_t count, unsigned char *out);

#endif
