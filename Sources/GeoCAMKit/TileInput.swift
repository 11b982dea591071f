import GeoCAMGeo
import GeoCAMTensor

/// Turns pixels read from a raster into network inputs.
public enum TileInput {
  /// Band-sequential pixels as `[bands][1][H][W]`; invalid pixels (`valid[i] == 0`) get
  /// `fill` (the normalisation mean, so they enter the network as 0). Also says whether every
  /// pixel was valid.
  public static func tensor(pixels: [Float], valid: [UInt8], height: Int, width: Int, fill: [Float])
    -> (tensor: Tensor, allValid: Bool)
  {
    let bands = pixels.count / (height * width)
    let t = Tensor(channels: bands, batch: 1, height: height, width: width, values: pixels)
    var allValid = true
    for c in 0..<bands {
      let p = t.plane(c, 0)
      for i in 0..<(height * width) where valid[i] == 0 {
        p[i] = fill[c]
        allValid = false
      }
    }
    return (t, allValid)
  }

  /// A window read by `GeoRaster`, its masked pixels set to `fill`.
  public static func tensor(_ window: RasterWindow, fill: [Float]) -> (tensor: Tensor, allValid: Bool) {
    tensor(pixels: window.data, valid: window.mask, height: window.height, width: window.width, fill: fill)
  }
}
