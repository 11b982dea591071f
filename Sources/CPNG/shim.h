// libpng 1.6's simplified API (no setjmp, which Swift cannot call).
#include <png.h>
// Compound format macros do not import into Swift; spell the ones we use as constants.
static const unsigned int GEOCAM_PNG_FORMAT_RGB = PNG_FORMAT_RGB;
static const unsigned int GEOCAM_PNG_FORMAT_RGBA = PNG_FORMAT_RGBA;
static const unsigned int GEOCAM_PNG_FORMAT_GRAY = PNG_FORMAT_GRAY;
