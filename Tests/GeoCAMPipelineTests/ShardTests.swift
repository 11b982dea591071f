import GeoCAMPipeline
import Testing

@Suite struct ShardTests {
  @Test func resolvesFromFlagsAndSchedulers() throws {
    #expect(try Shard.resolve(flag: "2/8", shards: nil, environment: [:]) == Shard(index: 2, count: 8))
    #expect(try Shard.resolve(flag: nil, shards: 4, environment: ["JOB_COMPLETION_INDEX": "3"]) == Shard(index: 3, count: 4))
    #expect(
      try Shard.resolve(
        flag: nil, shards: nil,
        environment: ["SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_COUNT": "5"])
        == Shard(index: 2, count: 5))
    #expect(try Shard.resolve(flag: nil, shards: 6, environment: ["AWS_BATCH_JOB_ARRAY_INDEX": "5"]) == Shard(index: 5, count: 6))
    #expect(try Shard.resolve(flag: nil, shards: nil, environment: [:]) == nil)
    #expect(throws: PipelineError.self) { try Shard.resolve(flag: nil, shards: nil, environment: ["JOB_COMPLETION_INDEX": "1"]) }
    #expect(throws: PipelineError.self) { try Shard.resolve(flag: "3/3", shards: nil, environment: [:]) }
    #expect(throws: PipelineError.self) { try Shard.resolve(flag: nil, shards: 4, environment: [:]) }
  }

  @Test func sharesAreDisjointAndCoverEverything() throws {
    var seen: [Int] = []
    for i in 0..<7 { seen += try Shard(index: i, count: 7).range(of: 40) }
    #expect(seen == Array(0..<40))
  }
}
