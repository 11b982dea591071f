// GDAL's C API, as imported by GeoCAMGeo. Headers by short name: pkg-config supplies -I/usr/include/gdal.
#include <gdal.h>
#include <gdal_alg.h>
#include <gdalwarper.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
