// OpenBLAS's CBLAS interface (Debian: pthread variant, so openblas_set_num_threads works at run time).
#include <cblas.h>
