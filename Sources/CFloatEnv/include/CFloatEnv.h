#ifndef GEOCAM_CFLOATENV_H
#define GEOCAM_CFLOATENV_H
/// Turns on flush-to-zero and denormals-are-zero for the calling thread (x86 MXCSR bits 15 and 6).
/// Denormal operands make SSE/AVX arithmetic take microcode assists: PyTorch runs this model 8x
/// slower when they appear. The setting is per thread, so every worker calls it.
void geocam_enable_flush_denormals(void);
/// Returns 1 when both FTZ and DAZ are on for the calling thread (0 elsewhere or off x86).
int geocam_flush_denormals_enabled(void);
#endif
