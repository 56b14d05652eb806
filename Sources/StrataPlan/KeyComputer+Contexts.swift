import Foundation
import StrataFleet
import StrataHash

extension KeyComputer {
    /// What reading the contexts of a set of nodes gives.
    struct Contexts {
        /// Node index → the entries its build sends.
        var selected: [Int: [ContextFile]] = [:]
        var selections: [Int: ContextSelection] = [:]
        var unselectedCounts: [Int: Int] = [:]
        /// Context folder → path → content digest.
        var digests: [String: [String: Digest]] = [:]
    }

    /// Walks each context folder once (variants share one), selects each node's files, and
    /// hashes the union of the selected files of each folder through its file-hash index:
    /// an unchanged file is never read twice, across runs too.
    func readContexts(_ order: [Int]) throws -> Contexts {
        var result = Contexts()
        var walked: [String: [ContextFile]] = [:]
        var wantedFiles: [String: [String: ContextFile]] = [:]
        for index in order {
            let node = fleet.nodes[index]
            let walkKey = node.contextDirectory + "\u{0}" + node.dockerfilePath
            if walked[walkKey] == nil {
                do {
                    let ignore = try DockerIgnore.load(contextDirectory: node.contextDirectory,
                                                       dockerfilePath: node.dockerfilePath)
                    walked[walkKey] = try walkContext(directory: node.contextDirectory, ignore: ignore, omitting: cacheDirectory)
                } catch {
                    throw Error.context(node: node.name, message: "\(error)")
                }
            }
            let context = walked[walkKey] ?? []
            let selection = Self.selection(fleet: fleet, node: node, defaultPlatform: defaultPlatform)
            let selected = Self.selected(context, by: selection)
            result.selected[index] = selected
            result.selections[index] = selection
            result.unselectedCounts[index] = context.count - selected.count
            for file in selected where file.kind == .file {
                wantedFiles[node.contextDirectory, default: [:]][file.path] = file
            }
        }
        for (root, files) in wantedFiles {
            let index = FileHashIndex(directory: fileIndexDirectory, contextRoot: root)
            do {
                result.digests[root] = try index.digests(for: files.values.sorted { $0.path < $1.path }, root: root)
                try index.save()
            } catch {
                throw Error.context(node: fleet.displayPath(root), message: "\(error)")
            }
        }
        return result
    }
}
