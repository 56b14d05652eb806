import StrataFleet

/// One wave job of the workflow `ci github` writes, whose matrix `matrix --format github`
/// fills: a wave of the fleet, or a part of one with more nodes than a GitHub matrix may run.
struct WaveJob: Equatable, Sendable {
    var wave: Int
    var part: Int
    var parts: Int

    /// GitHub refuses a matrix that expands to more jobs than this ("Using a matrix for your
    /// jobs": a matrix can generate at most 256 jobs per workflow run).
    static let matrixLimit = 256

    /// The job's id and the plan output that holds its matrix: `wave<i>`, or `wave<i>_<p>` for
    /// part p of a split wave.
    var name: String { parts == 1 ? "wave\(wave)" : "wave\(wave)_\(part)" }

    /// The nodes of its wave this job builds: part p takes the nodes from p × 256 on, in
    /// fleet order.
    func slice<T>(_ nodes: [T]) -> ArraySlice<T> {
        nodes.dropFirst(part * Self.matrixLimit).prefix(Self.matrixLimit)
    }

    /// The jobs of each wave, from the number of nodes of each wave: as many parts as 256
    /// nodes need, one for an empty wave.
    static func jobs(waveSizes: [Int]) -> [[WaveJob]] {
        waveSizes.enumerated().map { wave, size in
            let parts = max(1, (size + matrixLimit - 1) / matrixLimit)
            return (0..<parts).map { WaveJob(wave: wave, part: $0, parts: parts) }
        }
    }

    /// The jobs of the whole fleet's waves. `ci github` and `matrix --format github` both
    /// derive them from the whole fleet, never from the nodes a run builds, so that the
    /// workflow's jobs and the plan's outputs agree.
    static func jobs(of fleet: Fleet) -> [[WaveJob]] {
        var sizes = [Int](repeating: 0, count: MatrixDocument.depth(of: fleet))
        for wave in fleet.waves { sizes[wave] += 1 }
        return jobs(waveSizes: sizes)
    }
}
