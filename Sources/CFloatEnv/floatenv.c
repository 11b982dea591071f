#include "CFloatEnv.h"
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define GEOCAM_FTZ_DAZ 0x8040u
void geocam_enable_flush_denormals(void) { _mm_setcsr(_mm_getcsr() | GEOCAM_FTZ_DAZ); }
int geocam_flush_denormals_enabled(void) { return (_mm_getcsr() & GEOCAM_FTZ_DAZ) == GEOCAM_FTZ_DAZ; }
#elif defined(__aarch64__)
#include <stdint.h>
// AArch64: FPCR.FZ (bit 24) flushes denormal inputs and outputs.
void geocam_enable_flush_denormals(void) {
  uint64_t fpcr; __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr)); fpcr |= (1ull << 24);
  __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
}
int geocam_flush_denormals_enabled(void) {
  uint64_t fpcr; __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr)); return (fpcr >> 24) & 1;
}
#else
void geocam_enable_flush_denormals(void) {}
int geocam_flush_denormals_enabled(void) { return 0; }
#endif
