/// A dependency graph over named nodes: cycle detection that returns the whole cycle, and
/// waves (topological levels: a node's wave is one more than its deepest parent's).
public struct Graph: Sendable {
    /// Node names in a stable order (the order given).
    public let names: [String]
    /// Parents of each node, by index into `names`.
    public let parents: [[Int]]
    public let index: [String: Int]

    /// Builds a graph from `(name, parents)` pairs; parents not among the names are ignored
    /// (the fleet reports them separately).
    public init(_ nodes: [(name: String, parents: [String])]) {
        names = nodes.map(\.name)
        var index: [String: Int] = [:]
        for (position, name) in names.enumerated() { index[name] = position }
        self.index = index
        parents = nodes.map { node in node.parents.compactMap { index[$0] } }
    }

    /// The first dependency cycle found, as a path that starts and ends with the same node
    /// (`[a, b, c, a]` meaning a depends on b, b on c, c on a), or nil for an acyclic graph.
    /// Iterative depth-first search with a path stack (a fleet may be deep; no recursion).
    public func cycle() -> [String]? {
        enum Mark { case unvisited, onPath, done }
        var marks = [Mark](repeating: .unvisited, count: names.count)
        for start in names.indices where marks[start] == .unvisited {
            var path: [Int] = [start]
            var nextParent: [Int] = [0]
            marks[start] = .onPath
            while let node = path.last {
                let position = nextParent[nextParent.count - 1]
                if position < parents[node].count {
                    nextParent[nextParent.count - 1] += 1
                    let parent = parents[node][position]
                    switch marks[parent] {
                    case .onPath:
                        let from = path.firstIndex(of: parent)!
                        return (path[from...] + [parent]).map { names[$0] }
                    case .unvisited:
                        marks[parent] = .onPath
                        path.append(parent)
                        nextParent.append(0)
                    case .done:
                        break
                    }
                } else {
                    marks[node] = .done
                    path.removeLast()
                    nextParent.removeLast()
                }
            }
        }
        return nil
    }

    /// The wave of every node (0 for nodes without parents), or nil when there is a cycle.
    public func waves() -> [Int]? {
        var wave = [Int](repeating: 0, count: names.count)
        guard let order = topologicalOrder() else { return nil }
        for node in order {
            wave[node] = parents[node].map { wave[$0] + 1 }.max() ?? 0
        }
        return wave
    }

    /// Node indices with every parent before its children (Kahn's algorithm, stable: among
    /// ready nodes the earlier one in `names` comes first), or nil when there is a cycle.
    public func topologicalOrder() -> [Int]? {
        var remaining = parents.map { Set($0).count }
        var children = [[Int]](repeating: [], count: names.count)
        for (child, list) in parents.enumerated() {
            for parent in Set(list) { children[parent].append(child) }
        }
        var ready = names.indices.filter { remaining[$0] == 0 }
        var order: [Int] = []
        order.reserveCapacity(names.count)
        var head = 0
        while head < ready.count {
            let node = ready[head]
            head += 1
            order.append(node)
            for child in children[node] {
                remaining[child] -= 1
                if remaining[child] == 0 { ready.append(child) }
            }
        }
        return order.count == names.count ? order : nil
    }

    /// `names` and every node they depend on, transitively.
    public func ancestorsIncluding(_ roots: [Int]) -> Set<Int> {
        var seen = Set(roots)
        var stack = roots
        while let node = stack.popLast() {
            for parent in parents[node] where seen.insert(parent).inserted { stack.append(parent) }
        }
        return seen
    }

    /// `roots` and every node that depends on them, transitively.
    public func descendantsIncluding(_ roots: [Int]) -> Set<Int> {
        var children = [[Int]](repeating: [], count: names.count)
        for (child, list) in parents.enumerated() {
            for parent in list { children[parent].append(child) }
        }
        var seen = Set(roots)
        var stack = roots
        while let node = stack.popLast() {
            for child in children[node] where seen.insert(child).inserted { stack.append(child) }
        }
        return seen
    }
}
