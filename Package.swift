// swift-tools-version: 6.2
// GeoCAM: explanations (Grad-CAM family, guided backprop) for segmentation and classification
// models on georeferenced rasters. One module per concern; the `geocam` executable is a thin CLI.
import PackageDescription

// Hot kernels need an explicit CPU target: a default release build is baseline x86-64 (SSE2,
// no FMA), where SIMD multiply-add lowers to libm calls. x86-64-v3 (AVX2 + FMA) runs on every
// x86 server of the last decade; -Ounchecked drops the overflow traps that block unrolling.
#if arch(x86_64)
let kernelFlags: [SwiftSetting] = [
  .unsafeFlags(["-Ounchecked", "-Xcc", "-march=x86-64-v3"], .when(configuration: .release))
]
#else
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
#endif

let package = Package(
  name: "GeoCAM",
  products: [
    .executable(name: "geocam", targets: ["GeoCAMCLI"]),
    .library(name: "GeoCAMCore", targets: ["GeoCAMCore"]),
    .library(name: "GeoCAMTensor", targets: ["GeoCAMTensor"]),
    .library(name: "GeoCAMCheckpoint", targets: ["GeoCAMCheckpoint"]),
    .library(name: "GeoCAMModels", targets: ["GeoCAMModels"]),
    .library(name: "GeoCAMGeo", targets: ["GeoCAMGeo"]),
    .library(name: "GeoCAMImaging", targets: ["GeoCAMImaging"]),
    .library(name: "GeoCAMPipeline", targets: ["GeoCAMPipeline"]),
    .library(name: "GeoCAMExplain", targets: ["GeoCAMExplain"]),
    .library(name: "GeoCAMKit", targets: ["GeoCAMKit"]),
    .library(name: "GeoCAMAudit", targets: ["GeoCAMAudit"]),
    .library(name: "GeoCAMStudies", targets: ["GeoCAMStudies"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    // MARK: - C libraries (module maps only)
    .systemLibrary(name: "CGDAL", pkgConfig: "gdal", providers: [.apt(["libgdal-dev"])]),
    .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),

    /// FTZ/DAZ control for every worker thread (MXCSR has no Swift spelling).
    .target(name: "CFloatEnv"),
    /// oneDNN's convolutions, opened with dlopen: optional at build time and at run time.
    .target(name: "CDNNL"),
    /// SHA-256 through the system libcrypto when it is there (dlopen).
    .target(name: "CDigest"),

    // MARK: - Library
    /// What every module shares: the one-line error shape, the per-pixel channel argmax, layer
    /// names, libm's exp. No dependencies.
    .target(name: "GeoCAMCore", swiftSettings: kernelFlags),
    /// Float32 tensors, sgemm-backed kernels, each op's forward and pullback, the tape.
    .target(
      name: "GeoCAMTensor", dependencies: ["GeoCAMCore", "COpenBLAS", "CFloatEnv", "CDNNL"], swiftSettings: kernelFlags),
    /// torch.save zip / restricted unpickler / Lightning / safetensors → a state dict + metadata.
    .target(name: "GeoCAMCheckpoint", dependencies: ["CDigest"], exclude: ["README.md"], swiftSettings: kernelFlags),
    /// ResNet/ResNeXt encoders, smp FPN, classifiers; built from a state dict by key and shape.
    .target(
      name: "GeoCAMModels", dependencies: ["GeoCAMTensor", "GeoCAMCheckpoint"],
      swiftSettings: kernelFlags),
    /// Targets, the CAM family on one shared forward and batched backward, guided backprop,
    /// perturbation methods, normalisation.
    .target(
      name: "GeoCAMExplain", dependencies: ["GeoCAMCore", "GeoCAMTensor", "GeoCAMModels", "GeoCAMImaging"],
      swiftSettings: kernelFlags),
    /// GDAL rasters: windows, tile grids, GeoTIFF/COG layer writers.
    .target(name: "GeoCAMGeo", dependencies: ["GeoCAMCore", "CGDAL"], swiftSettings: kernelFlags),
    /// PNG via libpng, colour maps, overlays, resizing.
    .target(name: "GeoCAMImaging", dependencies: ["GeoCAMCore", "CPNG"], swiftSettings: kernelFlags),
    /// City-scale runs: tiling, blending into scene layers, resume, shards and merge.
    .target(
      name: "GeoCAMPipeline", dependencies: ["GeoCAMCore", "GeoCAMGeo", "GeoCAMImaging"], swiftSettings: kernelFlags),
    /// The library's front door: a checkpoint explained tile by tile inside the city pipeline,
    /// with per-tile raw arrays and pictures.
    .target(
      name: "GeoCAMKit",
      dependencies: [
        "GeoCAMCore", "GeoCAMTensor", "GeoCAMCheckpoint", "GeoCAMModels", "GeoCAMExplain", "GeoCAMGeo", "GeoCAMImaging",
        "GeoCAMPipeline",
      ],
      swiftSettings: kernelFlags),

    /// `geocam audit`: detections as polygons with their own explanations, matched to labels,
    /// ranked for review; GeoPackage, CSV, summary and HTML gallery.
    .target(
      name: "GeoCAMAudit",
      dependencies: ["GeoCAMCore", "GeoCAMExplain", "GeoCAMGeo", "GeoCAMImaging", "GeoCAMKit", "GeoCAMModels", "GeoCAMPipeline"],
      swiftSettings: kernelFlags),

    /// Classification and segmentation studies on the same core: paired statistics (SciPy's
    /// t-test, Cohen's d_z, Wilcoxon, Holm), foreground/background CAM studies and reports.
    .target(
      name: "GeoCAMStudies",
      dependencies: ["GeoCAMAudit", "GeoCAMExplain", "GeoCAMGeo", "GeoCAMImaging", "GeoCAMKit", "GeoCAMModels", "GeoCAMPipeline"],
      swiftSettings: kernelFlags),

    // MARK: - Command-line tool
    .executableTarget(
      name: "GeoCAMCLI",
      dependencies: [
        "GeoCAMTensor", "GeoCAMCheckpoint", "GeoCAMModels", "GeoCAMGeo", "GeoCAMImaging", "GeoCAMPipeline", "GeoCAMExplain", "GeoCAMKit", "GeoCAMAudit", "GeoCAMStudies",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: kernelFlags),

    // MARK: - Tests
    /// Fixture readers and the weight formula shared by the numeric test targets.
    .target(
      name: "GeoCAMTestSupport", dependencies: ["GeoCAMModels", "GeoCAMTensor"], path: "Tests/GeoCAMTestSupport"),
    /// GeoTIFFs in Cape Town's CRS written with GDAL, shared by the geo, pipeline and end-to-end tests.
    .target(
      name: "GeoCAMGeoTestSupport", dependencies: ["GeoCAMGeo", "CGDAL"], path: "Tests/GeoCAMGeoTestSupport"),
    .testTarget(name: "GeoCAMTensorTests", dependencies: ["GeoCAMTensor", "GeoCAMCore"]),
    .testTarget(name: "GeoCAMCheckpointTests", dependencies: ["GeoCAMCheckpoint", "CFloatEnv", "CDigest"]),
    .testTarget(
      name: "GeoCAMModelsTests",
      dependencies: ["GeoCAMModels", "GeoCAMTensor", "GeoCAMCheckpoint", "GeoCAMTestSupport"]),
    .testTarget(name: "GeoCAMGeoTests", dependencies: ["GeoCAMGeo", "GeoCAMCore", "GeoCAMGeoTestSupport", "CGDAL"]),
    .testTarget(name: "GeoCAMImagingTests", dependencies: ["GeoCAMImaging"]),
    .testTarget(
      name: "GeoCAMExplainTests",
      dependencies: ["GeoCAMExplain", "GeoCAMModels", "GeoCAMTensor", "GeoCAMTestSupport"]),
    .testTarget(
      name: "GeoCAMKitTests",
      dependencies: [
        "GeoCAMKit", "GeoCAMCheckpoint", "GeoCAMExplain", "GeoCAMGeo", "GeoCAMGeoTestSupport", "GeoCAMImaging", "GeoCAMModels",
        "GeoCAMPipeline", "GeoCAMTensor",
      ]),
    .testTarget(
      name: "GeoCAMAuditTests",
      dependencies: ["GeoCAMAudit", "GeoCAMExplain", "GeoCAMGeo", "GeoCAMGeoTestSupport", "GeoCAMKit", "GeoCAMModels", "GeoCAMTensor"]),
    .testTarget(
      name: "GeoCAMCLITests",
      dependencies: ["GeoCAMCLI", "GeoCAMKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    .testTarget(
      name: "GeoCAMStudiesTests",
      dependencies: ["GeoCAMStudies", "GeoCAMAudit", "GeoCAMExplain", "GeoCAMGeo", "GeoCAMGeoTestSupport", "GeoCAMKit", "GeoCAMModels", "CGDAL"]),
    .testTarget(name: "GeoCAMPipelineTests", dependencies: ["GeoCAMPipeline", "GeoCAMGeo", "GeoCAMGeoTestSupport"]),
  ]
)
