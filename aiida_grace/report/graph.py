"""The provenance around a process as a graph: nodes with their details, links, and groups for large batches
(many calcfunctions or jobs of one kind under one work chain collapse into one node that expands).

Pure data (dicts and lists) from the AiiDA database, plus graphviz to draw it as SVG.
"""

from __future__ import annotations

import subprocess
from collections import defaultdict

GROUP_MIN = 8  # children of one kind under one work chain from which they are drawn as one group node


def details(node) -> dict:
    """What a reader wants to see of ``node``: its kind, label and the attributes that say what it is."""
    from aiida import orm

    from ..data import GraceDatasetData, GraceModelData

    info = {"pk": node.pk, "uuid": node.uuid, "type": type(node).__name__, "label": node.label or "",
            "ctime": node.ctime.isoformat(timespec="seconds")}
    if isinstance(node, orm.ProcessNode):
        info.update(kind="process", process=node.process_label,
                    state=node.process_state.value if node.process_state else "unknown",
                    exit_status=node.exit_status, exit_message=node.exit_message or "")
        if isinstance(node, orm.CalcJobNode):
            options = node.get_options()
            info.update(walltime_s=options.get("max_wallclock_seconds"), job_id=node.get_job_id(),
                        computer=node.computer.label if node.computer else "", command=_command(node))
        if node.ctime and node.mtime:
            info["duration_s"] = round((node.mtime - node.ctime).total_seconds(), 1)
    elif isinstance(node, GraceModelData):
        attrs = node.base.attributes.all
        info.update(kind="model", sha256=attrs.get("sha256", ""), elements=", ".join(node.elements),
                    architecture=attrs.get("architecture", ""), preset=attrs.get("preset", ""),
                    cutoff=attrs.get("cutoff"), n_parameters=attrs.get("n_parameters"))
    elif isinstance(node, GraceDatasetData):
        info.update(kind="dataset", n_structures=node.n_structures, n_atoms=node.base.attributes.get("n_atoms"),
                    labels=", ".join(node.labels), elements=", ".join(node.elements))
    elif isinstance(node, orm.Dict):
        info.update(kind="dict", content=_short(node.get_dict()))
    elif isinstance(node, orm.StructureData):
        info.update(kind="structure", formula=node.get_formula(), n_sites=len(node.sites))
    elif isinstance(node, orm.ArrayData):
        info.update(kind="array", arrays=", ".join(f"{n}{tuple(node.get_shape(n))}" for n in node.get_arraynames()))
    elif isinstance(node, orm.SinglefileData):
        info.update(kind="file", filename=node.filename)
    elif isinstance(node, orm.BaseType):
        info.update(kind="value", value=str(node.value))
    elif isinstance(node, orm.AbstractCode):
        info.update(kind="code", code=node.full_label)
    else:
        info["kind"] = "data"
    return info


def _command(job) -> str:
    """The command line of a CalcJob's code (its executable and the driver's sub-command)."""
    code = job.inputs.code if "code" in job.inputs else None
    if code is None:
        return ""
    executable = str(getattr(code, "filepath_executable", "") or "")
    return f"{executable} {' '.join(job.base.attributes.get('cmdline_params', []) or [])}".strip()


def _short(content: dict, limit: int = 40) -> dict:
    """The scalar entries of a Dict (and of its sub-dicts one level down), at most ``limit`` of them."""
    flat = {}
    for key, value in content.items():
        if isinstance(value, dict):
            for sub, item in value.items():
                if not isinstance(item, (dict, list)):
                    flat[f"{key}.{sub}"] = item
        elif not isinstance(value, list):
            flat[key] = value
        if len(flat) >= limit:
            break
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in list(flat.items())[:limit]}


def provenance(process, group_min: int = GROUP_MIN) -> dict:
    """The provenance of ``process``: every process it called (at any depth) with their inputs and outputs,
    and one level up from the data it was given (who created it). Returns ``nodes`` (pk → details), ``links``
    ([source pk, target pk, label, kind]) and ``groups`` (group id → {label, members})."""
    from aiida import orm
    from aiida.common.links import LinkType

    processes = [process, *process.called_descendants]
    nodes, links = {}, set()

    def add(node):
        if node.pk not in nodes:
            nodes[node.pk] = details(node)

    for proc in processes:
        add(proc)
        for link in proc.base.links.get_incoming(link_type=(LinkType.INPUT_CALC, LinkType.INPUT_WORK)).all():
            add(link.node)
            links.add((link.node.pk, proc.pk, link.link_label, "input"))
        for link in proc.base.links.get_outgoing(link_type=(LinkType.CREATE, LinkType.RETURN)).all():
            if link.link_label in ("remote_folder", "retrieved"):
                continue
            add(link.node)
            links.add((proc.pk, link.node.pk, link.link_label, "create" if link.link_type == LinkType.CREATE
                       else "return"))
        for link in proc.base.links.get_outgoing(link_type=(LinkType.CALL_CALC, LinkType.CALL_WORK)).all():
            links.add((proc.pk, link.node.pk, link.link_label, "call"))
    inside = {p.pk for p in processes}
    for link in process.base.links.get_incoming(link_type=(LinkType.INPUT_CALC, LinkType.INPUT_WORK)).all():
        creator = link.node.creator if isinstance(link.node, orm.Data) else None
        if creator is not None and creator.pk not in inside:
            add(creator)
            links.add((creator.pk, link.node.pk, "created", "create"))
    return {"nodes": nodes, "links": sorted(links), "groups": groups_of(nodes, sorted(links), group_min)}


def groups_of(nodes: dict, links: list, group_min: int = GROUP_MIN) -> dict:
    """Groups that a large batch collapses into, each member in one group only: the children of one kind called
    by one work chain (``group_min`` or more) with the data they created, then the data that one process takes
    or gives in one namespace (``structures.*``, ``elastic_tensors.*``...), ``group_min`` or more.
    Group id → {label, members (pks)}."""
    called, created, namespaces = defaultdict(list), defaultdict(list), defaultdict(list)
    for source, target, label, kind in links:
        if kind == "call":
            called[(source, nodes[target].get("process"))].append(target)
        elif kind == "create":
            created[source].append(target)
        if kind != "call" and "__" in label:
            process, data = (target, source) if kind == "input" else (source, target)
            direction = "in" if kind == "input" else "out"
            namespaces[(process, direction, label.split("__")[0])].append(data)
    groups, taken = {}, set()
    for (parent, label), children in sorted(called.items()):
        if len(children) >= group_min:
            members = {pk for child in children for pk in (child, *created[child])} - taken
            groups[f"g{len(groups)}"] = {"label": f"{len(children)} × {label}", "members": sorted(members)}
            taken |= members
    # data given through a plain port of a process left visible (a model, a code, shared parameters) stays visible
    plain = {data for source, target, label, kind in links if kind != "call" and "__" not in label
             for data, process in [(source, target) if kind == "input" else (target, source)] if process not in taken}
    for (process, direction, namespace), data in sorted(namespaces.items()):
        members = set(data) - taken - plain
        if len(members) >= group_min:
            word = "inputs" if direction == "in" else "outputs"
            groups[f"g{len(groups)}"] = {"label": f"{len(members)} {namespace}.* ({word} of <{process}>)",
                                         "members": sorted(members)}
            taken |= members
    return groups


STYLE = {"process": ("box", "#fde8c8"), "model": ("ellipse", "#cfe3fb"), "dataset": ("ellipse", "#d4f0d4"),
         "structure": ("ellipse", "#e9e9e9"), "dict": ("ellipse", "#f3e5f5"), "array": ("ellipse", "#fff3c4"),
         "file": ("note", "#ffffff"), "code": ("hexagon", "#eeeeee")}


def dot_source(graph: dict, collapse: bool) -> str:
    """Graphviz source of ``graph``; with ``collapse`` each group is one node (id = the group's id)."""
    where = {}
    if collapse:
        for gid, group in graph["groups"].items():
            for pk in group["members"]:
                where.setdefault(pk, gid)
    lines = ["digraph provenance {", 'graph [rankdir=TB, fontname="Helvetica", nodesep=0.25, ranksep=0.35];',
             'node [fontname="Helvetica", fontsize=10, style=filled];', 'edge [fontname="Helvetica", fontsize=8];']
    drawn = set()
    for pk, info in graph["nodes"].items():
        if pk in where:
            continue
        shape, color = STYLE.get(info.get("kind"), ("ellipse", "#ffffff"))
        text = info.get("process") or info["type"]
        extra = info.get("label") or info.get("formula") or info.get("filename") or ""
        label = f"{text}<{pk}>" + (f"\\n{extra}"[:40] if extra else "")
        if info.get("kind") == "process" and info.get("exit_status") not in (0, None):
            color = "#f8c4c4"
        lines.append(f'n{pk} [id="n{pk}", shape={shape}, fillcolor="{color}", label="{_escape(label)}"];')
    for gid, group in graph["groups"].items():
        if collapse:
            lines.append(f'{gid} [id="{gid}", shape=box3d, fillcolor="#ffe0a0", label="{_escape(group["label"])}\\n'
                         f'(click to expand)"];')
    for source, target, label, kind in graph["links"]:
        a = where.get(source, f"n{source}") if collapse else f"n{source}"
        b = where.get(target, f"n{target}") if collapse else f"n{target}"
        if a == b or (a, b, kind) in drawn:
            continue
        drawn.add((a, b, kind))
        style = {"call": 'style=dashed, color="#888888"', "input": 'color="#3465a4"', "create": 'color="#c17d11"',
                 "return": 'color="#c17d11", style=dotted'}[kind]
        edge_label = "" if (a.startswith("g") or b.startswith("g") or kind == "call") else label[:24]
        lines.append(f'{a} -> {b} [{style}, label="{_escape(edge_label)}"];')
    lines.append("}")
    return "\n".join(lines)


def _escape(text: str) -> str:
    return str(text).replace('"', '\\"')


def svg(source: str) -> str:
    """SVG of graphviz ``source`` (``dot -Tsvg``), without the XML prologue, to inline in HTML."""
    result = subprocess.run(["dot", "-Tsvg"], input=source, capture_output=True, text=True, check=True, timeout=600)
    text = result.stdout
    return text[text.index("<svg"):]
