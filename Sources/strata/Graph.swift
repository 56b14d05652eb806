import ArgumentParser
import StrataFleet

extension Strata {
    struct Graph: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the image graph: nodes, their parents, and the waves they build in.")

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case text, dot, mermaid, json
        }

        @OptionGroup var global: GlobalOptions

        @Option(help: "Output format.")
        var format: Format = .text

        func run() async throws {
            let fleet = try global.loadSoundFleet()
            switch format {
            case .json:
                try Console.json(GraphDocument(fleet: fleet))
            case .text:
                Console.output(GraphRendering.text(fleet))
            case .dot:
                Console.output(GraphRendering.dot(fleet))
            case .mermaid:
                Console.output(GraphRendering.mermaid(fleet))
            }
        }
    }
}

/// `graph --format json`: `{"nodes":[{"node","image","variant","platform","parents":[…],"wave"}]}`.
struct GraphDocument: Encodable {
    struct Node: Encodable {
        var node: String
        var image: String
        @Nullable var variant: String?
        @Nullable var platform: String?
        var parents: [String]
        var wave: Int
    }

    var nodes: [Node]

    init(fleet: Fleet) {
        nodes = fleet.nodes.enumerated().map { index, node in
            Node(node: node.name, image: node.image, variant: node.variant, platform: node.platform,
                 parents: node.parentNames, wave: fleet.waves[index])
        }
    }
}

/// The human and diagram renderings of the graph.
enum GraphRendering {
    /// Nodes grouped by wave, each with its parents.
    static func text(_ fleet: Fleet) -> String {
        let maxWave = fleet.waves.max() ?? -1
        var lines: [String] = []
        for wave in 0...max(maxWave, 0) where maxWave >= 0 {
            let members = fleet.nodes.indices.filter { fleet.waves[$0] == wave }
            lines.append("wave \(wave) (\(members.count) node\(members.count == 1 ? "" : "s"))")
            let width = members.map { fleet.nodes[$0].name.count }.max() ?? 0
            for index in members {
                let node = fleet.nodes[index]
                let from = node.parentNames.isEmpty
                    ? node.externalBases.first.map { "from \($0.reference)" } ?? ""
                    : "<- " + node.parentNames.joined(separator: ", ")
                lines.append("  " + node.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + from)
            }
        }
        lines.append("\(fleet.nodes.count) nodes, \(fleet.manifest.images.count) images, \(maxWave + 1) waves")
        return lines.joined(separator: "\n")
    }

    /// Graphviz: edges point from parent to child (the direction builds flow).
    static func dot(_ fleet: Fleet) -> String {
        var lines = ["digraph strata {", "  rankdir=LR;", "  node [shape=box];"]
        for node in fleet.nodes {
            lines.append("  \(quoted(node.name));")
        }
        for node in fleet.nodes {
            for parent in node.parentNames { lines.append("  \(quoted(parent)) -> \(quoted(node.name));") }
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    static func mermaid(_ fleet: Fleet) -> String {
        var ids: [String: String] = [:]
        for (index, node) in fleet.nodes.enumerated() { ids[node.name] = "n\(index)" }
        var lines = ["graph LR"]
        for node in fleet.nodes {
            lines.append("  \(ids[node.name]!)[\"\(node.name)\"]")
        }
        for node in fleet.nodes {
            for parent in node.parentNames { lines.append("  \(ids[parent]!) --> \(ids[node.name]!)") }
        }
        return lines.joined(separator: "\n")
    }

    private static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
