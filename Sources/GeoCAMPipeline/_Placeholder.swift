enum _GeoCAMPipelinePlaceholder {}
