/// One share of a sharded run: share `index` (0-based) of `count`. Each share owns a disjoint,
/// contiguous run of output blocks (row-major), recomputes the halo tiles its blocks need, and
/// writes `OUT.part-<index>-of-<count>.*`; `CityPipeline.merge` joins them.
public struct Shard: Sendable, Hashable, Codable, CustomStringConvertible {
  /// 0-based share index, `0..<count`.
  public let index: Int
  /// Number of shares.
  public let count: Int

  /// Creates a share; throws unless `0 <= index < count`.
  public init(index: Int, count: Int) throws {
    guard count >= 1, (0..<count).contains(index) else {
      throw PipelineError("--shard", "share \(index) of \(count) is not within 0..<\(count) (I is 0-based)")
    }
    self.index = index
    self.count = count
  }

  /// Parses `I/N` (0-based), e.g. `--shard 2/8`.
  public init(parsing spec: String) throws {
    let parts = spec.split(separator: "/")
    guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
      throw PipelineError("--shard", "expected I/N (0-based share I of N), got '\(spec)'")
    }
    try self.init(index: i, count: n)
  }

  /// `I/N`.
  public var description: String { "\(index)/\(count)" }

  /// The share for this process, from the first source that gives one:
  /// 1. `flag` (`--shard I/N`);
  /// 2. `JOB_COMPLETION_INDEX` (Kubernetes Indexed Job) with `shards` (`--shards N`, the Job's
  ///    `completions`);
  /// 3. `SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` with `SLURM_ARRAY_TASK_COUNT`
  ///    (`sbatch --array=0-31`; `shards`, when given, must agree with the count);
  /// 4. `AWS_BATCH_JOB_ARRAY_INDEX` with `shards`.
  /// Returns nil (one unsharded run) when none applies. A scheduler index without a known
  /// count is an error rather than a silent full run in every task.
  public static func resolve(
    flag: String?, shards: Int?, environment: [String: String]
  ) throws -> Shard? {
    if let flag { return try Shard(parsing: flag) }
    func int(_ key: String) throws -> Int? {
      guard let raw = environment[key], !raw.isEmpty else { return nil }
      guard let v = Int(raw) else { throw PipelineError(key, "is '\(raw)', not an integer") }
      return v
    }
    if let i = try int("JOB_COMPLETION_INDEX") {
      guard let n = shards else {
        throw PipelineError(
          "JOB_COMPLETION_INDEX", "is set (\(i)); give --shards N with N = the Job's completions")
      }
      return try Shard(index: i, count: n)
    }
    if let id = try int("SLURM_ARRAY_TASK_ID") {
      let min = try int("SLURM_ARRAY_TASK_MIN") ?? 0
      guard let n = try int("SLURM_ARRAY_TASK_COUNT") ?? shards else {
        throw PipelineError("SLURM_ARRAY_TASK_ID", "is set (\(id)) without SLURM_ARRAY_TASK_COUNT or --shards N")
      }
      if let shards, shards != n {
        throw PipelineError("--shards", "is \(shards) but SLURM_ARRAY_TASK_COUNT is \(n)")
      }
      return try Shard(index: id - min, count: n)
    }
    if let i = try int("AWS_BATCH_JOB_ARRAY_INDEX") {
      guard let n = shards else {
        throw PipelineError("AWS_BATCH_JOB_ARRAY_INDEX", "is set (\(i)); give --shards N with N = the array size")
      }
      return try Shard(index: i, count: n)
    }
    if let shards, shards > 1 {
      throw PipelineError("--shards", "\(shards) given but no share index (--shard I/N or a scheduler array variable)")
    }
    return nil
  }

  /// The contiguous range of `0..<total` items this share owns: `[I·total/N, (I+1)·total/N)`.
  public func range(of total: Int) -> Range<Int> {
    (index * total / count)..<((index + 1) * total / count)
  }
}
