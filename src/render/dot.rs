//! Graphviz DOT export of the growth subgraph: the functions on the call
//! paths of every finding, with caller-to-callee edges weighted by the growth
//! per task that flows through them.

use std::io::{self, Write};

use petgraph::graphmap::DiGraphMap;

use super::report::rate;
use crate::analysis::growth::Analysis;
use crate::diagnosis::Finding;

/// Builds the graph: one node per function, edge weights summed over sites.
pub fn growth_graph(findings: &[Finding]) -> DiGraphMap<&str, f64> {
    let mut graph = DiGraphMap::new();
    for finding in findings {
        for site in &finding.sites {
            let weight = site.rates.primary;
            for pair in site.call_path.windows(2) {
                let (caller, callee) = (pair[0].as_str(), pair[1].as_str());
                if caller == callee {
                    continue;
                }
                match graph.edge_weight_mut(caller, callee) {
                    Some(total) => *total += weight,
                    None => {
                        graph.add_edge(caller, callee, weight);
                    }
                }
            }
            if let Some(only) = site.call_path.first() {
                graph.add_node(only.as_str());
            }
        }
    }
    graph
}

pub fn write_dot(out: &mut dyn Write, analysis: &Analysis, findings: &[Finding]) -> io::Result<()> {
    let graph = growth_graph(findings);
    let unit = &analysis.measures[analysis.primary].unit;
    let per = analysis.axis.unit();
    let owners: Vec<&str> = findings.iter().map(|f| f.owner.as_str()).collect();
    let sites: Vec<&str> = findings
        .iter()
        .flat_map(|f| f.sites.iter().map(|s| s.site.as_str()))
        .collect();
    writeln!(out, "digraph growth {{")?;
    writeln!(out, "  node [shape=box, fontname=\"monospace\"];")?;
    for node in graph.nodes() {
        let style = if owners.contains(&node) {
            ", style=filled, fillcolor=\"#f4cccc\""
        } else if sites.contains(&node) {
            ", style=filled, fillcolor=\"#fff2cc\""
        } else {
            ""
        };
        writeln!(out, "  {} [label={}{style}];", quote(node), quote(node))?;
    }
    for (caller, callee, weight) in graph.all_edges() {
        writeln!(
            out,
            "  {} -> {} [label={}];",
            quote(caller),
            quote(callee),
            quote(&format!("{} per {per}", rate(*weight, unit)))
        )?;
    }
    writeln!(out, "}}")
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
