"""No import cycles anywhere in app/ or vigil_agent/ (issue 21).

import-linter's contracts forbid upward imports between layers and imports between domains,
but a cycle inside one package (app.fleet -> app.fleet.views -> app.fleet) passes them. This
test builds the module import graph with grimp (the library import-linter uses) and fails on
every strongly connected component of more than one module, or a module importing itself.
There is no allowlist: a cycle is broken by moving the shared object down (for a blueprint,
app/<package>/blueprint.py) or inverting the dependency, never by hiding the import inside a
function (tests/test_no_function_imports.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import grimp

PACKAGES = ("app", "vigil_agent")


def strongly_connected_components(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's algorithm without recursion (the graph is deep enough to matter): every strongly
    connected component of `graph` (node -> the nodes it points at), each sorted. Nodes that only
    appear as targets count as nodes without edges."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    nodes = set(graph)
    for targets in graph.values():
        nodes.update(targets)
    for root in sorted(nodes):
        if root in index:
            continue
        # Each frame: a node and the iterator over its successors still to visit.
        index[root] = lowlink[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(sorted(graph.get(root, ()))))]
        while work:
            node, successors = work[-1]
            descended = False
            for successor in successors:
                if successor not in index:
                    index[successor] = lowlink[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, ())))))
                    descended = True
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index[successor])
            if descended:
                continue
            work.pop()
            if work:  # hand the finished node's lowlink up to its caller
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The components that are cycles: more than one node, or one node pointing at itself."""
    return sorted(
        component
        for component in strongly_connected_components(graph)
        if len(component) > 1 or component[0] in set(graph.get(component[0], ()))
    )


def import_graph() -> dict[str, set[str]]:
    """module -> the first-party modules it imports directly (grimp, no cache file written)."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    return {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}


def test_tarjan_finds_a_hand_made_cycle() -> None:
    # a -> b -> c -> a is one cycle; d -> e -> d another; f imports itself; g and h are acyclic.
    graph = {
        "a": ["b"],
        "b": ["c", "g"],
        "c": ["a"],
        "d": ["e"],
        "e": ["d", "a"],
        "f": ["f"],
        "g": ["h"],
    }
    assert cycles(graph) == [["a", "b", "c"], ["d", "e"], ["f"]]
    components = strongly_connected_components(graph)
    assert ["g"] in components and ["h"] in components
    assert sum(len(component) for component in components) == 8


def test_tarjan_handles_a_long_chain_without_recursion() -> None:
    # Deeper than Python's default recursion limit: a recursive Tarjan would fail here.
    length = 5000
    chain = {f"m{i}": [f"m{i + 1}"] for i in range(length)}
    assert cycles(chain) == []
    chain[f"m{length}"] = ["m0"]
    assert cycles(chain) == [sorted(f"m{i}" for i in range(length + 1))]


def test_the_graph_is_real() -> None:
    # Guards the check below against passing on an empty or truncated graph.
    graph = import_graph()
    assert "app.fleet.views" in graph
    assert "app.fleet.blueprint" in graph["app.fleet.views"]
    assert "vigil_agent" in graph


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    report = "\n".join(f"  {len(cycle)} modules: {', '.join(cycle)}" for cycle in found)
    assert not found, f"{len(found)} import cycle(s); break each by moving the shared code down:\n{report}"
